"""Running a policy's own test cases through the reference evaluator.

A failing case is data, not an exception: the officer sees every case's expected and actual
outcome at once. Each test firm gives only some columns; the others are missing (None), so a
rule that reads a column the test did not give errors on that firm, and the case reports it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import rule_engine

from policies.checking import CheckedPolicy, rules_for
from policies.document import Expectation, PolicyDocument, PolicyTest, typed_test_row
from policies.evaluation import deadline_error
from policies.language import Outcome, evaluate_firm, firm_record
from subsidy import deadline
from subsidy.registry.catalog import BUILTIN, Catalog


@dataclass(frozen=True)
class TestResult:
    """One case: what it expected, what the policy gave, and a sentence saying why it failed."""

    __test__ = False  # not a pytest class, despite the name

    name: str
    passed: bool
    expected: Expectation
    got: Outcome
    message: str


def run_tests(checked: CheckedPolicy) -> list[TestResult]:
    """Every test case of the document, in order, with `$today` = the case's as_of or valid_from.

    The cases run in an evaluator process within the deadline (`subsidy.deadline`): a rule that
    runs too long fails every case with that reason instead of holding the caller."""
    document = checked.document
    try:
        return deadline.run(_run_cases, document, checked.catalog)
    except deadline.DeadlineExceeded as exc:
        got = Outcome(False, error=deadline_error(document.id, exc))
        return [_result(case, got) for case in document.tests]


def _run_cases(document: PolicyDocument, catalog: Catalog = BUILTIN) -> list[TestResult]:
    """In the evaluator process."""
    rules: dict[dt.date, tuple[rule_engine.Rule, rule_engine.Rule]] = {}
    results = []
    for case in document.tests:
        as_of = case.as_of or document.valid_from
        if as_of not in rules:
            rules[as_of] = rules_for(document, as_of, catalog)
        eligibility, amount = rules[as_of]
        got = evaluate_firm(eligibility, amount, document.cap, case_firm(case, catalog))
        results.append(_result(case, got))
    return results


def failures(results: list[TestResult]) -> list[TestResult]:
    return [result for result in results if not result.passed]


def case_firm(case: PolicyTest, catalog: Catalog = BUILTIN) -> dict[str, Any]:
    """The case's firm as the reference evaluator reads it (the document has typed the built-in
    columns' cells, the catalog types the declared ones'; `check` found them well-formed)."""
    firm = typed_test_row(case.enterprise, catalog.firm_columns)
    staff = [typed_test_row(e, catalog.employee_columns) for e in case.employees]
    return firm_record(firm, staff, catalog)


def _result(case: PolicyTest, got: Outcome) -> TestResult:
    problem = _problem(case.expect, got)
    return TestResult(case.name, problem is None, case.expect, got, problem or "")


def _problem(expect: Expectation, got: Outcome) -> str | None:
    same_amount = expect.amount is None or got.amount == expect.amount
    if got.error is None and got.qualifies == expect.eligible and same_amount:
        return None
    return f"expected {_expected(expect)}, got {_got(got)}"


def _expected(expect: Expectation) -> str:
    if not expect.eligible:
        return "not eligible"
    return "eligible" + (f" for {_yuan(expect.amount)}" if expect.amount is not None else "")


def _got(got: Outcome) -> str:
    if got.error is not None:
        return f"an error: {got.error}"
    if not got.qualifies:
        return "not eligible"
    return f"eligible for {_yuan(got.amount)}"


def _yuan(amount: Decimal | None) -> str:
    return f"{amount:,.2f} yuan" if amount is not None else "nothing"
