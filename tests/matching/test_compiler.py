"""The compiler's own contract: what it refuses, and how aggregates are shared and filled."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from matching.compiler import check_compilable, compile_policy, evaluate, prepare
from matching.errors import InvalidRule, UnsupportedRule
from tests.matching._reference import compiled, reference
from tests.matching._strategies import AS_OF, PARAMETERS, make_registry

COMPILED_EXACTLY = [
    # Each was refused until the compiler left what polars cannot reproduce to rule-engine,
    # once per distinct input (matching/_python.py); each must now agree firm by firm.
    "industry =~ '\\\\w+'",
    "industry =~ 'C$'",
    "industry =~ '(?i)c'",
    "industry =~ 'C{2}+'",
    "name =~ '(\\\\d{100}){100}'",
    "tax_paid ** 2 > 1",
    "tax_paid // 2 > 1",
    "tax_paid % 2 > 1",
    "tax_paid / 3 > 1",
    "tax_paid / revenue > 1",
    "tax_paid / 0 > 1",
    "name + 'x' == 'a'",
    "'C' in bank_account",
    "tax_paid in [revenue]",
    "industry[0] == 'C'",
    "industry[-2:] == 'C'",
    "industry.as_lower == 'c'",
    "established.weekday == 'Monday'",
    "$parse_datetime('2020-01-01') > established",
    "[x for x in [1, 2]].length > 0",
    "[x for x in [1, 2, 3] if x > revenue].length > 0",
    "[e for e in employees if e.monthly_wage > revenue].length > 0",
    "[e for e in employees if e.monthly_wage / 3 > revenue / 1000].length > 0",
    "10 ** 30 > tax_paid",
    "tax_paid * revenue > 1",
    "(ui_premium ?? 0) > 1",
    "(bank_account ?? 'none') == 'none'",
    "revenue > 1e-40",
    "ui_premium & 1",
    "employees.is_empty",
    "(revenue / 10000).floor > 3",
    "(revenue / 10000).ceiling > 3",
]


@pytest.mark.parametrize("rule", COMPILED_EXACTLY)
def test_every_construct_compiles_and_agrees_with_the_reference(rule: str) -> None:
    enterprises, employees = make_registry(60, 3)
    assert check_compilable(rule, "1", PARAMETERS) == []
    got = compiled(enterprises, employees, rule, "1", None, PARAMETERS, AS_OF)
    assert got == reference(enterprises, employees, rule, "1", None, PARAMETERS, AS_OF)


NO_MEANING = [
    ("tax_paid in employees", "`employees` as a value; use `employees.length`"),
    ("[e for e in employees if [f for f in employees].length > 1].length > 0", "combine the"),
    ("[e.monthly_wage for e in employees] == [1]", "a list of employees other than"),
    ("employees[0].insured", "`employees` as a value"),
    ("[e for e in employees if employees.length > 1].length > 0", "compare the counts outside"),
    ("$re_groups.length > 0", "test the text with another `=~`"),
    ("$random() > 0.5", "cannot depend on chance"),
    ("$sum([e.monthly_wage / 3 for e in employees]) > 1", "apply the arithmetic to the aggregate"),
]


@pytest.mark.parametrize(("rule", "advice"), NO_MEANING)
def test_what_has_no_meaning_on_the_registry_is_refused_with_a_way_out(
    rule: str, advice: str
) -> None:
    with pytest.raises(UnsupportedRule, match="the compiler cannot compile") as caught:
        compile_policy(rule, "1", None, PARAMETERS, AS_OF)
    assert advice in str(caught.value)
    assert check_compilable(rule, "1", PARAMETERS) == [str(caught.value)]


def test_a_cap_finer_than_the_fen_is_refused() -> None:
    with pytest.raises(UnsupportedRule, match="a cap with more than 2 decimals"):
        compile_policy("true", "1", Decimal("10.005"), PARAMETERS, AS_OF)


def test_an_amount_too_wide_to_round_is_an_error_for_the_firms_it_reaches() -> None:
    # Rounding to the fen fails in rule-engine from 10^26 yuan on: an error for that firm only.
    enterprises, employees = make_registry(40, 7)
    amount = "employees.length * 2 * 10 ** 25"
    got = compiled(enterprises, employees, "true", amount, None, PARAMETERS, AS_OF)
    assert got == reference(enterprises, employees, "true", amount, None, PARAMETERS, AS_OF)
    assert any(error for *_, error in got)
    assert any(qualifies for _, qualifies, *_ in got)


@pytest.mark.parametrize("rule", ["industry ==", "x > 1", "tax_paid > 'a'", "tax_paid in industry"])
def test_rules_rule_engine_refuses_are_invalid(rule: str) -> None:
    with pytest.raises(InvalidRule):
        compile_policy(rule, "1", None, PARAMETERS, AS_OF)
    assert check_compilable(rule, "1", PARAMETERS)


def test_a_supported_policy_has_no_messages() -> None:
    rule = "[e for e in employees if e.insured and e.hire_date >= since].length >= 3"
    assert check_compilable(rule, "$min([ui_premium * rate, 3000000])", PARAMETERS) == []


def test_aggregates_shared_by_policies_are_computed_once() -> None:
    enterprises, employees = make_registry(10, 7)
    count = "[e for e in employees if e.insured].length"
    one = compile_policy(f"{count} > 0", "100", None, PARAMETERS, AS_OF)
    two = compile_policy(f"{count} > 1", f"{count} * 10", None, PARAMETERS, AS_OF)
    firms = prepare(enterprises, employees, [one, two])
    added = [c for c in firms.columns if c not in enterprises.columns]
    assert len(added) == 1  # one count, which cannot raise: no error column
    assert evaluate(firms, two).columns == ["uscc", "qualifies", "amount", "error"]


EMPTY_LIST_CASES = [
    ("[e for e in employees].length == 0", "1", (True, Decimal("1.00"), False)),
    ("$sum([e.monthly_wage for e in employees]) == 0", "1", (True, Decimal("1.00"), False)),
    ("$any([e.insured for e in employees])", "1", (False, None, False)),
    ("$all([e.insured for e in employees])", "1", (True, Decimal("1.00"), False)),
    ("$min([e.monthly_wage for e in employees]) > 0", "1", (False, None, True)),
    ("true", "$max([e.monthly_wage for e in employees])", (False, None, True)),
]


@pytest.mark.parametrize(("eligibility", "amount", "expected"), EMPTY_LIST_CASES)
def test_firms_without_employees_get_the_empty_list_values(
    eligibility: str, amount: str, expected: tuple[bool, Decimal | None, bool]
) -> None:
    enterprises, employees = make_registry(3, 11)
    lonely = enterprises.with_columns(pl.lit("NOBODY000000000000").alias("uscc"))
    firms = pl.concat([enterprises, lonely.head(1)])
    for rows in (
        compiled(firms, employees, eligibility, amount, None, PARAMETERS, AS_OF),
        reference(firms, employees, eligibility, amount, None, PARAMETERS, AS_OF),
    ):
        assert rows[-1][1:] == expected


def test_half_up_rounding_and_the_cap_match_the_reference() -> None:
    enterprises, employees = make_registry(30, 5)
    for amount, cap in [("ui_premium * 0.5", None), ("tax_paid * 0.25 + 0.005", Decimal("0.05"))]:
        got = compiled(enterprises, employees, "true", amount, cap, PARAMETERS, AS_OF)
        want = reference(enterprises, employees, "true", amount, cap, PARAMETERS, AS_OF)
        assert got == want


def test_as_of_is_today() -> None:
    enterprises, employees = make_registry(30, 9)
    for as_of in (AS_OF, AS_OF + dt.timedelta(days=1), AS_OF - dt.timedelta(days=1)):
        rule = "established >= $today"
        got = compiled(enterprises, employees, rule, "1", None, PARAMETERS, as_of)
        assert got == reference(enterprises, employees, rule, "1", None, PARAMETERS, as_of)
