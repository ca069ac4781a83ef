"""Regressions of issue 12: firms on which the compiled matcher and the reference disagreed.

Each test builds the smallest registry that showed the bug and compares the compiled matcher with
the reference firm by firm (`tests/matching/_reference.py`), or asserts the behaviour itself
(validation answers with a message, the reference names where an error came from).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
import rule_engine

from matching.compiler import check_compilable
from policies.language import Outcome, context, evaluate_firm, firm_record
from subsidy.registry.schema import EMPLOYEES, ENTERPRISES
from tests.matching._reference import compiled, reference
from tests.matching._strategies import AS_OF, PARAMETERS

FIRST_DAY, LAST_DAY = dt.date(1, 1, 1), dt.date(9999, 12, 31)
KAWI_DIGIT_ZERO = "\U00011f50"  # Unicode 15: a digit to Rust's regex, not to Python 3.11's re


def _firm(i: int, **values: Any) -> dict[str, Any]:
    firm: dict[str, Any] = {
        "uscc": f"F{i:017d}",
        "name": f"firm {i}",
        "district": "西湖区",
        "industry": "C27",
        "established": dt.date(2020, 1, 1),
        "size": "small",
        "status": "active",
        "tax_rating": "A",
        "dishonest": False,
        "high_tech": False,
        "revenue": Decimal("100.00"),
        "tax_paid": None,
        "ui_premium": None,
        "bank_account": None,
    }
    return firm | values


def _employee(firm: int, n: int, **values: Any) -> dict[str, Any]:
    employee: dict[str, Any] = {
        "person_id": f"P{firm}-{n}",
        "uscc": f"F{firm:017d}",
        "hire_date": dt.date(2019, 1, 1),
        "leave_date": None,
        "insured": True,
        "monthly_wage": Decimal("4600.00"),
        "local_hukou": True,
        "birth_date": None,
    }
    return employee | values


def _registry(
    firms: list[dict[str, Any]], employees: Sequence[dict[str, Any]] = ()
) -> tuple[pl.DataFrame, pl.DataFrame]:
    return (
        pl.DataFrame(firms, schema=ENTERPRISES.polars_schema),
        pl.DataFrame(list(employees), schema=EMPLOYEES.polars_schema),
    )


def _agree(
    registry: tuple[pl.DataFrame, pl.DataFrame], eligibility: str, amount: str = "1"
) -> list[tuple[str, bool, Decimal | None, bool]]:
    """Compiled == reference on every firm; returns the reference's rows."""
    enterprises, employees = registry
    want = reference(enterprises, employees, eligibility, amount, None, PARAMETERS, AS_OF)
    got = compiled(enterprises, employees, eligibility, amount, None, PARAMETERS, AS_OF)
    assert got == want
    return want


# ---------------------------------------------------------------------------- calendar ends


_CALENDAR_ENDS = _registry(
    [_firm(0), _firm(1), _firm(2)],
    [
        _employee(0, 0, leave_date=LAST_DAY),  # + 30 days: past 9999-12-31
        _employee(1, 0, hire_date=FIRST_DAY),  # - 30 days: before 0001-01-01
        _employee(2, 0, hire_date=dt.date(2019, 1, 1), leave_date=dt.date(2021, 1, 1)),
    ],
)


@pytest.mark.parametrize(
    ("eligibility", "amount"),
    [
        ("$any([e.leave_date + t'P30D' > $today for e in employees])", "1"),
        ("$any([t'P30D' + e.leave_date > $today for e in employees])", "1"),
        ("$any([e.hire_date - t'P30D' < $today for e in employees])", "1"),
        ("true", "$sum([(e.leave_date + t'P30D').year for e in employees])"),
        ("true", "$sum([(e.hire_date - t'P30D').year for e in employees])"),
        ("[e for e in employees if e.hire_date - t'P30D' < since].length > 0", "1"),
    ],
)
def test_dates_beyond_the_calendar_are_an_error_for_that_firm(
    eligibility: str, amount: str
) -> None:
    rows = _agree(_CALENDAR_ENDS, eligibility, amount)
    errors = [uscc for uscc, _, _, error in rows if error]
    assert f"F{2:017d}" not in errors  # only the firms at the calendar's ends raise
    assert errors


@pytest.mark.parametrize(
    "eligibility",
    [
        # a firm's day count plus nine digits of days passes timedelta's ±999,999,999 days
        "((established - d'0001-01-01') + t'P999999999D').days > 0",
        "((d'0001-01-01' - established) - t'P999999999D').days < 0",
        "(established - d'0001-01-01') + t'P999999999D' > t'P1D'",
        "$any([(e.hire_date - d'0001-01-01') + t'P999999999D' > t'P1D' for e in employees])",
    ],
)
def test_a_timedelta_sum_beyond_999999999_days_is_an_error_for_that_firm(
    eligibility: str,
) -> None:
    registry = _registry(
        [_firm(0, established=FIRST_DAY), _firm(1)], [_employee(0, 0), _employee(1, 0)]
    )
    rows = _agree(registry, eligibility)
    assert any(error for *_, error in rows)


@pytest.mark.parametrize(
    "eligibility",
    [
        "t'P999999999D' - (established - d'0001-01-01') > t'P999000000D'",
        "(t'P999999999D' - t'P999999998D') + (established - $today) >= t'P1D'",
        "t'P999999999D' + (d'0001-01-01' - established) < t'P999999999D'",
        "(t'P999999999D' - (established - d'0001-01-01')).days == 999999999",
        "established - t'P999999999D' < $today",
    ],
)
def test_nine_digit_timedeltas_combined_and_compared_agree(eligibility: str) -> None:
    registry = _registry(
        [
            _firm(0, established=FIRST_DAY),
            _firm(1, established=AS_OF),
            _firm(2, established=LAST_DAY),
        ]
    )
    _agree(registry, eligibility)


@pytest.mark.parametrize(
    "eligibility",
    ["(t'P999999999D' + t'P1D').days > 0", "d'9999-12-31' + t'P1D' > $today"],
)
def test_validation_answers_for_a_constant_date_or_timedelta_overflow(eligibility: str) -> None:
    """rule-engine folds the literals when it parses, and overflows there: a message, no crash."""
    problems = check_compilable(eligibility, "1", PARAMETERS)
    assert problems
    assert all(isinstance(p, str) and p for p in problems)


# ---------------------------------------------------------------------------- regexes


@pytest.mark.parametrize(
    "eligibility",
    ["name =~ '\\\\d'", "name =~~ '\\\\d'", "name !~~ '\\\\d'", "name =~ 'firm \\\\d+'"],
)
def test_regex_digits_are_pythons_digits(eligibility: str) -> None:
    registry = _registry(
        [
            _firm(0, name=KAWI_DIGIT_ZERO),
            _firm(1, name=f"firm {KAWI_DIGIT_ZERO}"),
            _firm(2, name="firm 7"),
            _firm(3, name="٣"),  # ARABIC-INDIC DIGIT THREE: a digit to both
        ]
    )
    _agree(registry, eligibility)


@pytest.mark.parametrize("pattern", ["(\\\\d{100}){100}", "(a{1000}){1000}"])
def test_a_regex_too_big_for_rust_is_refused_or_agrees(pattern: str) -> None:
    eligibility = f"name =~ '{pattern}'"
    problems = check_compilable(eligibility, "1", PARAMETERS)
    if problems:
        assert any("regular expression" in p for p in problems)
        return
    registry = _registry([_firm(0, name="a" * 10), _firm(1, name="1" * 10), _firm(2, name="")])
    _agree(registry, eligibility)


# ---------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    "eligibility", ["revenue > 1e-40", "revenue > 0.0000000000000000000000000000000000000001"]
)
def test_a_literal_with_more_than_38_decimals_is_a_message_or_compiles(eligibility: str) -> None:
    problems = check_compilable(eligibility, "1", PARAMETERS)
    assert all(isinstance(p, str) and p for p in problems)
    if not problems:
        registry = _registry(
            [_firm(0, revenue=Decimal("0.00")), _firm(1, revenue=Decimal("0.01")), _firm(2)]
        )
        _agree(registry, eligibility)


# ---------------------------------------------------------------------------- the reference


def _outcome(
    eligibility: str, amount: str, firm: dict[str, Any], staff: list[dict[str, Any]]
) -> Outcome:
    ctx = context(PARAMETERS, AS_OF)
    return evaluate_firm(
        rule_engine.Rule(eligibility, context=ctx),
        rule_engine.Rule(amount, context=ctx),
        None,
        firm_record(firm, staff),
    )


def test_an_overflow_in_the_eligibility_is_not_called_an_amount_out_of_range() -> None:
    out = _outcome(
        "$any([e.leave_date + t'P30D' > $today for e in employees])",
        "1",
        _firm(0),
        [_employee(0, 0, leave_date=LAST_DAY)],
    )
    assert not out.qualifies
    assert out.error is not None
    assert "amount out of range" not in out.error
    assert "eligibility" in out.error


def test_an_overflow_in_the_amount_names_the_amount_and_the_overflow() -> None:
    out = _outcome(
        "true",
        "$sum([(e.leave_date + t'P30D').year for e in employees])",
        _firm(0),
        [_employee(0, 0, leave_date=LAST_DAY)],
    )
    assert not out.qualifies
    assert out.error is not None
    assert "amount" in out.error
    assert "eligibility" not in out.error
    assert "amount out of range" not in out.error  # a date overflow, not rounding to the fen


def test_a_type_error_in_a_rule_is_an_outcome_not_an_exception() -> None:
    """`'7' in bank_account` with a null account: Python raises TypeError inside rule-engine."""
    out = _outcome("'7' in bank_account", "1", _firm(0, bank_account=None), [])
    assert not out.qualifies
    assert out.error is not None
    assert "eligibility" in out.error


# ----------------------------------------------------------------- found on the new compiler

_NEW_COMPILER_BUG = (
    "issue 12: found by the differential tests on the compiler that compiles everything"
)


@pytest.mark.parametrize(
    "amount",
    ["sector.length / 3", "since.year // 7", "($today - since).days % 7"],
)
def test_a_region_over_parameters_only_is_broadcast_to_every_firm(amount: str) -> None:
    """A region whose inputs are all constants (no column) came back as one row, not one a firm."""
    _agree(_registry([_firm(0), _firm(1), _firm(2)]), "true", amount)


@pytest.mark.parametrize(
    "eligibility",
    [
        "(since + t'P999999999D' > established ? 1 : 2).to_str == ''",
        "((since + t'P999999999D' > established) ? established.year : rate).to_str == ''",
    ],
)
def test_a_region_with_a_constant_that_always_raises_is_one_row_a_firm(eligibility: str) -> None:
    """`since + t'P999999999D'` raises for every firm; inside a region it came back as one row."""
    _agree(_registry([_firm(0), _firm(1), _firm(2)]), eligibility)


@pytest.mark.parametrize(
    "amount",
    ["3 / revenue", "3 / employees.length", "3 / established.day", "999999998 - 12 / revenue"],
)
def test_a_constant_divided_by_a_column_does_not_overflow_polars(amount: str) -> None:
    registry = _registry(
        [
            _firm(0, revenue=Decimal("0.00"), established=dt.date(2020, 1, 31)),
            _firm(1, revenue=Decimal("0.03")),
            _firm(2, revenue=Decimal("99999999999999.99")),
        ],
        [_employee(1, 0), _employee(1, 1), _employee(2, 0)],
    )
    _agree(registry, "true", amount)


@pytest.mark.parametrize("amount", ["revenue / 3", "revenue / 7 * 3"])
@pytest.mark.parametrize("revenue", ["99999999999999.99", "-99999999999999.99"])
def test_the_largest_money_divided_by_a_constant_does_not_overflow_polars(
    amount: str, revenue: str
) -> None:
    """The quotient's fixed scale (matching/_approx.py) times 100 passed Decimal(38, s)."""
    registry = _registry([_firm(0, revenue=Decimal(revenue)), _firm(1)])
    _agree(registry, "true", amount)


@pytest.mark.parametrize(
    ("eligibility", "amount"),
    [
        ("revenue > 1 / 3", "1"),
        ("revenue == 1 / 3", "1"),
        ("revenue in [1 / 3, 1]", "1"),
        ("true", "high_tech ? 1 / 3 : revenue"),
        ("true", "revenue ?? 1 / 3"),
        ("true", "$max([revenue, 1 / 3])"),
    ],
)
def test_money_brought_to_the_scale_of_a_28_digit_constant_does_not_overflow_polars(
    eligibility: str, amount: str
) -> None:
    """rule-engine folds 1 / 3 into 0.333...3 (28 decimals); a 14-digit amount at scale 28
    needs 42 digits, more than Decimal(38, s) holds (comparisons, ternaries, ??, $min/$max)."""
    registry = _registry(
        [_firm(0, revenue=Decimal("12345678901234.56")), _firm(1, revenue=None), _firm(2)]
    )
    _agree(registry, eligibility, amount)
