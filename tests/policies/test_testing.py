"""A policy's own test cases: results are data, failures say what was expected and what came."""

from __future__ import annotations

from decimal import Decimal

from policies.checking import load_and_check
from policies.language import Outcome
from policies.testing import TestResult, failures, run_tests
from tests.policies.test_document import policy_yaml


def results_of(tests: str, **fields: str) -> list[TestResult]:
    return run_tests(load_and_check(policy_yaml(tests=tests, **fields), "policy.yaml"))


def case(enterprise: str, expect: str, extra: str = "") -> str:
    return f"\n  - name: case\n    enterprise: {enterprise}{extra}\n    expect: {expect}"


def test_passing_cases() -> None:
    results = results_of(
        case("{status: active, ui_premium: 1000.01}", "{eligible: true, amount: 500.01}")
        + case("{status: suspended, ui_premium: 1000}", "{eligible: false}")
        + case("{status: active, ui_premium: 7}", "{eligible: true}")
    )
    assert [r.passed for r in results] == [True, True, True]
    assert results[0].got == Outcome(True, Decimal("500.01"))  # 500.005 rounded half-up
    assert results[0].message == ""
    assert failures(results) == []


def test_a_wrong_amount_fails_with_expected_and_got() -> None:
    results = results_of(
        case("{status: active, ui_premium: 1000}", "{eligible: true, amount: 400}")
    )
    assert failures(results) == results
    result = results[0]
    assert result.passed is False
    assert result.expected.amount == Decimal("400")
    assert result.got == Outcome(True, Decimal("500.00"))
    assert result.message == "expected eligible for 400.00 yuan, got eligible for 500.00 yuan"


def test_a_wrong_eligibility_fails() -> None:
    results = results_of(case("{status: deregistered, ui_premium: 1000}", "{eligible: true}"))
    assert results[0].message == "expected eligible, got not eligible"


def test_a_rule_reading_a_column_the_case_left_out_reports_the_error() -> None:
    results = results_of(
        case("{status: active}", "{eligible: false}"),
        eligibility="status == 'active' and ui_premium > 0",
    )
    result = results[0]
    assert result.passed is False
    assert result.got.error is not None
    assert result.message.startswith("expected not eligible, got an error: ")


def test_the_cap_applies() -> None:
    results = results_of(
        case("{status: active, ui_premium: 1000000}", "{eligible: true, amount: 2000}"),
        cap="2000",
    )
    assert results[0].passed, results[0].message


def test_employees_and_as_of_are_used() -> None:
    staff = (
        "\n    employees:"
        "\n      - {person_id: a, hire_date: 2020-01-15, insured: true, local_hukou: true}"
        "\n      - {person_id: b, hire_date: '2020-03-01', insured: true, local_hukou: false}"
    )
    hired = "[e for e in employees if e.insured and e.hire_date <= $today].length"
    results = results_of(
        case("{status: active}", "{eligible: true, amount: 1}", staff)
        + case(
            "{status: active}", "{eligible: true, amount: 2}", staff + "\n    as_of: 2020-06-01"
        ),
        eligibility=f"'{hired} > 0'",
        amount=f"'{hired}'",
    )
    assert [r.passed for r in results] == [True, True], [r.message for r in results]


def test_an_amount_too_large_to_round_is_reported_on_its_case() -> None:
    results = results_of(
        case("{status: active, ui_premium: 10}", "{eligible: true}"),
        amount="ui_premium ** 100000",
    )
    assert results[0].got.error is not None
    assert "out of range" in results[0].message
