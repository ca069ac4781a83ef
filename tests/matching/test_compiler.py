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

UNSUPPORTED = [
    ("industry =~ '\\\\w+'", "the escape \\w"),
    ("industry =~ 'C$'", "'$' also matches before a final newline"),
    ("industry =~ '(?i)c'", "group extensions"),
    ("industry =~ 'C{2}+'", "possessive"),
    ("tax_paid ** 2 > 1", "the operator 'pow'"),
    ("tax_paid // 2 > 1", "the operator 'fdiv'"),
    ("tax_paid % 2 > 1", "the operator 'mod'"),
    ("tax_paid / 3 > 1", "division by 3"),
    ("tax_paid / revenue > 1", "division by a non-constant value"),
    ("tax_paid / 0 > 1", "division by zero"),
    ("name + 'x' == 'a'", "'+' of a string and a string"),
    ("'C' in bank_account", "`in` over a text that may be null"),
    ("tax_paid in employees", "`employees` outside a comprehension"),
    ("tax_paid in [revenue]", "non-constant elements"),
    ("industry[0] == 'C'", "indexing"),
    ("industry[-2:] == 'C'", "slicing `x[i:j]` with bounds"),
    ("industry.as_lower == 'c'", "the attribute .as_lower of a string"),
    ("established.weekday == 'Monday'", "the attribute .weekday of a date"),
    ("$re_groups.length > 0", "the builtin $re_groups"),
    ("$parse_datetime('2020-01-01') > established", "the function $parse_datetime"),
    ("[x for x in [1, 2]].length > 0", "a comprehension over anything but `employees`"),
    ("[e for e in employees if e.monthly_wage > revenue].length > 0", "the firm column revenue"),
    ("[e for e in employees if [f for f in employees].length > 1].length > 0", "inside a compr"),
    ("[e.monthly_wage for e in employees] == [1]", "a comprehension outside"),
    ("employees[0].insured", "indexing"),
    ("[e for e in employees if employees.length > 1].length > 0", "`employees` inside a compr"),
    ("10 ** 30 > tax_paid", "28 significant digits"),
    ("tax_paid * revenue > 1", "28 significant digits"),
    ("(ui_premium ?? 0) > 1", "null coalescing"),
    ("ui_premium & 1", "bitwise operators"),
]


@pytest.mark.parametrize(("rule", "construct"), UNSUPPORTED)
def test_unsupported_constructs_are_refused_at_compile_time(rule: str, construct: str) -> None:
    with pytest.raises(UnsupportedRule, match="the compiler cannot compile") as caught:
        compile_policy(rule, "1", None, PARAMETERS, AS_OF)
    assert construct in str(caught.value)
    assert check_compilable(rule, "1", PARAMETERS) == [str(caught.value)]


def test_a_cap_finer_than_the_fen_is_refused() -> None:
    with pytest.raises(UnsupportedRule, match="a cap with more than 2 decimals"):
        compile_policy("true", "1", Decimal("10.005"), PARAMETERS, AS_OF)


def test_an_amount_too_wide_to_round_is_refused() -> None:
    with pytest.raises(UnsupportedRule, match="digits before the decimal point"):
        compile_policy("true", "employees.length * 10 ** 17", None, PARAMETERS, AS_OF)


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
