"""The compiled matcher against the reference over declared sources' columns, firm by firm.

Columns of every declarable type (text, integer, money, decimal, date, bool), by firm and by
person, with nulls and with firms and people the source has no row for (all null): random
registries and random rules from the typed grammar with the declared columns among its leaves
(tests/matching/_strategies.py `DeclaredRuleMaker`), then hand-written rules on what null does.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

import polars as pl
import pytest
import rule_engine
from hypothesis import HealthCheck, assume, event, given, settings

from matching.compiler import compile_policy
from matching.errors import UnsupportedRule
from policies.language import context
from tests.matching._reference import compiled, reference
from tests.matching._strategies import (
    AS_OF,
    DECLARED,
    PARAMETERS,
    declared_policies,
    declared_registries,
    make_declared_policy,
    make_declared_registry,
)

Registry = tuple[pl.DataFrame, pl.DataFrame]
Policy = tuple[str, str, Decimal | None]

EXAMPLES = int(os.environ.get("QINQING_DECLARED_EXAMPLES", "400"))
"""Examples of the random test (about 10 s); more by hand for a long run."""

DECLARED_NAMES = [c.name for c in DECLARED.declared_columns]


def _agree(registry: Registry, policy: Policy, as_of: dt.date = AS_OF) -> None:
    enterprises, employees = registry
    eligibility, amount, cap = policy
    args = (enterprises, employees, eligibility, amount, cap, PARAMETERS, as_of, DECLARED)
    assert compiled(*args) == reference(*args)


def _parses(policy: Policy) -> bool:
    ctx = context(PARAMETERS, AS_OF, DECLARED)
    try:
        rule_engine.Rule(policy[0], context=ctx)
        rule_engine.Rule(policy[1], context=ctx)
    except Exception:
        return False
    return True


def _declared_read(policy: Policy) -> list[str]:
    text = f"{policy[0]} ; {policy[1]}"
    return [name for name in DECLARED_NAMES if name in text]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(registry=declared_registries(), policy=declared_policies())
def test_random_rules_over_declared_columns_agree_with_the_reference(
    registry: Registry, policy: Policy
) -> None:
    if not _parses(policy):
        event("refused by rule-engine")
        assume(False)
    try:
        _agree(registry, policy)
    except UnsupportedRule:
        event("refused by the compiler")
        assume(False)
    for name in _declared_read(policy):
        event(f"compiled and agreed: {name}")


def test_most_generated_rules_compile_and_read_every_declared_column() -> None:
    """The grammar reaches every declared column in rules the compiler takes (a random test
    whose rules never read them would prove nothing)."""
    reached: set[str] = set()
    compiles = accepted = 0
    for seed in range(300):
        policy = make_declared_policy(seed)
        if not _parses(policy):
            continue
        accepted += 1
        try:
            compile_policy(*policy, PARAMETERS, AS_OF, DECLARED)
        except UnsupportedRule:
            continue
        compiles += 1
        reached.update(_declared_read(policy))
    assert accepted >= 0.7 * 300
    assert compiles >= 0.85 * accepted
    assert reached == set(DECLARED_NAMES)


NULL_RULES: list[Policy] = [
    # A null declared column where a value is needed raises, in both engines alike.
    ("d_money > 0", "d_money", None),
    ("d_int >= 6", "d_int * 10", None),
    ("d_share > 0.03", "d_share * 1000", Decimal("500")),
    ("d_date < $today", "(($today - d_date).days)", None),
    ("d_flag", "1", None),
    ("not d_flag", "1", None),
    ("d_text == 'C27'", "d_text.length", None),
    ("d_text =~ '^C'", "1", None),
    # ... unless the rule says what null means.
    ("(d_money ?? 0) > 0", "(d_money ?? 0) * 0.1", Decimal("3000")),
    ("d_money == null", "1", None),
    ("(d_money ?? 0) / (revenue ?? 1) >= 0.03", "1", None),
    ("(revenue ?? 0) > 0 and (d_money ?? 0) / revenue >= 0.03", "d_money * rate", None),
    ("(d_flag ?? false) or high_tech", "1", None),
    ("(d_date ?? since) >= since", "1", None),
    # Person columns, through comprehensions.
    ("[e for e in employees if e.p_months >= 6].length >= 1", "1", None),
    (
        "[e for e in employees if (e.p_months ?? 0) >= 6].length >= 1",
        "[e for e in employees if (e.p_months ?? 0) >= 6].length * 500",
        Decimal("50000"),
    ),
    ("$any([e.p_flag for e in employees])", "$sum([e.p_wage ?? 0 for e in employees])", None),
    ("$all([(e.p_flag ?? false) for e in employees])", "1", None),
    ("true", "$sum([e.p_wage * 2 for e in employees if e.p_wage != null])", None),
    ("true", "$sum([e.p_months for e in employees if e.p_months != null])", None),
    ("employees.length > 0", "$max([e.p_months ?? 0 for e in employees])", None),
    ("true", "$min([e.p_months for e in employees])", None),
    ("[e for e in employees if e.p_since > e.hire_date].length > 0", "1", None),
    ("[e for e in employees if e.p_note =~ 'i'].length > 0", "1", None),
    ("[e for e in employees if e.p_months == d_int].length > 0", "1", None),
]


@pytest.mark.parametrize("policy", NULL_RULES, ids=[p[0] + " ; " + p[1] for p in NULL_RULES])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_null_declared_columns_behave_as_in_the_reference(policy: Policy, seed: int) -> None:
    _agree(make_declared_registry(25, seed), policy)


def test_a_firm_without_a_source_row_reads_null_and_does_not_qualify() -> None:
    enterprises, employees = make_declared_registry(10, 4)
    enterprises = enterprises.with_columns(pl.lit(None, dtype=pl.Decimal(16, 2)).alias("d_money"))
    policy: Policy = ("(d_money ?? 0) > 0", "d_money", None)
    rows = compiled(enterprises, employees, *policy, PARAMETERS, AS_OF, DECLARED)
    assert rows == reference(enterprises, employees, *policy, PARAMETERS, AS_OF, DECLARED)
    assert not any(qualifies or error for _, qualifies, _, error in rows)
    raising: Policy = ("d_money > 0", "1", None)
    rows = compiled(enterprises, employees, *raising, PARAMETERS, AS_OF, DECLARED)
    assert all(error for *_, error in rows)


def test_a_sum_of_a_declared_decimal_over_employees_is_refused_with_a_way_out() -> None:
    """A declared decimal holds up to 28 significant digits: a sum of them may not fit
    rule-engine's 28, so the compiler refuses it (publishing says so) rather than differ."""
    with pytest.raises(UnsupportedRule, match=r"\$sum"):
        compile_policy(
            "true", "$sum([e.p_rate for e in employees if e.p_rate != null])", None,
            PARAMETERS, AS_OF, DECLARED,
        )  # fmt: skip
