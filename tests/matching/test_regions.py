"""Regions: what polars cannot reproduce, evaluated by rule-engine once per distinct input."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl
import rule_engine

from matching import _python
from matching.compiler import compile_policy, prepare
from policies.document import PolicyDocument
from policies.explain import explain
from policies.language import context, evaluate_firm, firm_record
from tests.matching._reference import compiled, reference
from tests.matching._strategies import AS_OF, PARAMETERS, make_registry


def test_a_region_is_evaluated_once_per_distinct_input() -> None:
    seen: list[Any] = []

    def counting(value: Any) -> Any:
        seen.append(value)
        return value

    node = rule_engine.Rule("x =~~ '(?i)C2'", context=rule_engine.Context()).statement.expression
    slot = _python.Slot(node.context, 0)
    rebuilt = _python.rebuild(node, lambda n: slot if n is node.left else None)
    region = _python.Region(
        rebuilt, ((pl.col("industry"), None, "string"),), "test", pl.Boolean(), counting
    )
    industries = ["C27", "c2", "I65", "C27", None, "I65"] * 1000
    frame = pl.DataFrame({"uscc": [f"F{i:017d}" for i in range(6000)], "industry": industries})
    value, error = region.columns(frame)
    assert len(seen) == 4  # C27, c2, I65 and null, among 6,000 rows
    assert value.to_list()[:6] == [True, True, False, True, False, False]
    assert not error.any()


def test_policies_share_a_region_with_the_same_meaning() -> None:
    enterprises, employees = make_registry(20, 4)
    one = compile_policy("name =~~ '(?i)FIRM 1'", "1", None, PARAMETERS, AS_OF)
    two = compile_policy("name =~~ '(?i)FIRM 1' and revenue > 0", "2", None, PARAMETERS, AS_OF)
    other = compile_policy("name =~~ '(?i)FIRM 2'", "1", None, PARAMETERS, AS_OF)
    firms = prepare(enterprises, employees, [one, two, other])
    added = [c for c in firms.columns if c.startswith("__py_")]
    assert len(added) == 4  # two regions, a value and an error column each


def test_a_parameter_is_part_of_a_regions_meaning() -> None:
    enterprises, employees = make_registry(40, 8)
    for rate in (Decimal("3"), Decimal("7")):
        parameters = PARAMETERS | {"rate": rate}
        got = compiled(enterprises, employees, "true", "revenue / rate", None, parameters, AS_OF)
        assert got == reference(
            enterprises, employees, "true", "revenue / rate", None, parameters, AS_OF
        )


def test_a_slot_raises_only_where_rule_engine_reaches_it() -> None:
    # tax_paid / revenue raises on a zero or null revenue, but only in the branch taken.
    enterprises, employees = make_registry(80, 12)
    rule = "(revenue ?? 0) != 0 ? tax_paid / revenue > 0.1 : (revenue ?? 1) / 0 > 1"
    got = compiled(enterprises, employees, rule, "ui_premium / 3", None, PARAMETERS, AS_OF)
    assert got == reference(enterprises, employees, rule, "ui_premium / 3", None, PARAMETERS, AS_OF)
    assert any(error for *_, error in got)
    assert not all(error for *_, error in got)


def test_a_quotient_is_rounded_to_28_digits_as_rule_engine_rounds_it() -> None:
    enterprises, employees = make_registry(30, 2)
    firms = enterprises.with_columns(
        pl.lit(Decimal("1.00")).cast(pl.Decimal(16, 2)).alias("revenue")
    )
    rule = "revenue / 3 * 3 == revenue"  # 0.999...9 (28 nines) in Decimal arithmetic
    got = compiled(firms, employees, rule, "1", None, PARAMETERS, AS_OF)
    assert got == reference(firms, employees, rule, "1", None, PARAMETERS, AS_OF)
    assert not any(qualifies for _, qualifies, *_ in got)


def _record(**enterprise: Any) -> dict[str, Any]:
    enterprises, employees = make_registry(1, 5)
    firm = enterprises.row(0, named=True) | enterprise
    staff = [e | {"leave_date": dt.date(9999, 12, 31)} for e in employees.iter_rows(named=True)]
    return firm_record(firm, staff or [{"leave_date": dt.date(9999, 12, 31)}])


def test_the_reference_names_the_rule_an_error_came_from() -> None:
    ctx = context(PARAMETERS, AS_OF)
    overflow = rule_engine.Rule(
        "[e for e in employees if e.leave_date + t'P1D' > $today].length > 0", context=ctx
    )
    outcome = evaluate_firm(overflow, rule_engine.Rule("1", context=ctx), None, _record())
    assert outcome.error is not None
    assert outcome.error.startswith("eligibility: OverflowError:")
    assert "amount out of range" not in outcome.error
    zero = rule_engine.Rule("1 / (revenue - revenue)", context=ctx)
    outcome = evaluate_firm(
        rule_engine.Rule("true", context=ctx), zero, None, _record(revenue=Decimal(5))
    )
    assert outcome.error == "amount: ArithmeticError: arithmetic error: division by zero"


def test_explain_names_an_overflow_in_a_clause() -> None:
    document = PolicyDocument.model_validate(
        {
            "id": "overflow",
            "title": "t",
            "department": "d",
            "basis": "b",
            "valid_from": "2020-01-01",
            "valid_to": "2020-12-31",
            "budget": 1000,
            "mode": "one-click",
            "eligibility": "status == 'active' and "
            "[e for e in employees if e.leave_date + t'P1D' > $today].length > 0",
            "amount": "1",
            "tests": [],
        }
    )
    result = explain(document, _record(status="active"), AS_OF)
    assert result.error is not None
    assert "OverflowError" in result.error
    (first, second) = result.clauses
    assert first.error is None
    assert second.value is None
    assert second.error is not None
    assert "OverflowError" in second.error


def _premiums(*values: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    enterprises, employees = make_registry(len(values), 21)
    premiums = pl.Series("ui_premium", [Decimal(v) for v in values], dtype=pl.Decimal(16, 2))
    revenue = pl.Series("revenue", [Decimal(v) * 2 for v in values], dtype=pl.Decimal(16, 2))
    return enterprises.with_columns(premiums, revenue), employees


def test_a_quotient_on_a_half_fen_rounds_as_rule_engine_rounds_it() -> None:
    # 0.10 / 12 * 3 is 0.025 exactly: which fen it rounds to depends on rule-engine's 28-digit
    # steps, so polars leaves the firms on a half-fen to rule-engine.
    enterprises, employees = _premiums("0.10", "0.02", "0.06", "1000.00", "1234.57", "0.01")
    policy = compile_policy("true", "ui_premium / 12 * 3", None, PARAMETERS, AS_OF)
    (exact,) = (r for r in policy.regions if r.where is not None)
    near = prepare(enterprises, employees, [policy]).select(exact.where).to_series()
    assert near.to_list() == [True, True, True, False, False, False]
    got = compiled(enterprises, employees, "true", "ui_premium / 12 * 3", None, PARAMETERS, AS_OF)
    want = reference(enterprises, employees, "true", "ui_premium / 12 * 3", None, PARAMETERS, AS_OF)
    assert got == want


def test_a_quotient_equal_to_its_bound_is_decided_by_rule_engine() -> None:
    enterprises, employees = _premiums("1.00", "3.00", "0.01", "7.77", "0.00")
    for rule in (
        "ui_premium / revenue >= 0.5",  # exactly 0.5 on every firm with a premium
        "ui_premium / revenue == 0.5",
        "revenue / 3 * 3 == revenue",  # 0.99...9 for 1.00: never equal in rule-engine
        "-(ui_premium / 7) < -0.1",
        "ui_premium / 3 + ui_premium / 3 + ui_premium / 3 != ui_premium",
    ):
        got = compiled(enterprises, employees, rule, "1", None, PARAMETERS, AS_OF)
        assert got == reference(enterprises, employees, rule, "1", None, PARAMETERS, AS_OF), rule


def test_a_quotient_is_computed_natively_away_from_its_boundaries() -> None:
    # Most firms are decided by polars: the region runs only where the quotient sits on a bound.
    enterprises, employees = _premiums(*(f"{i}.37" for i in range(1, 200)))
    policy = compile_policy("ui_premium / revenue > 0.3", "ui_premium / 7", None, PARAMETERS, AS_OF)
    (exact,) = (r for r in policy.regions if r.where is not None and r.dtype == pl.Boolean())
    firms = prepare(enterprises, employees, [policy])
    near = firms.select(exact.where).to_series()
    assert near.sum() == 0
