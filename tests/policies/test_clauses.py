"""Splitting an eligibility rule into the clauses an officer reads."""

from __future__ import annotations

import pytest

from policies.clauses import split_clauses


def texts(rule: str) -> list[str]:
    return [c.text for c in split_clauses(rule)]


def test_top_level_and_splits_but_nested_ones_do_not() -> None:
    rule = (
        "status == 'active' and\n  [e for e in employees if e.insured and e.local_hukou].length"
        " >= 3 and (tax_rating == 'A' and high_tech)"
    )
    assert texts(rule) == [
        "status == 'active'",
        "[e for e in employees if e.insured and e.local_hukou].length >= 3",
        "(tax_rating == 'A' and high_tech)",
    ]


@pytest.mark.parametrize(
    "rule", ["a and b or c", "a or b and c", "a and b ? c : d", "x ?? y and z", "name == 'a and b'"]
)
def test_rules_that_are_not_a_top_level_conjunction_stay_whole(rule: str) -> None:
    assert texts(rule) == [rule]


def test_symbols_exclude_attributes_and_comprehension_variables() -> None:
    (clause,) = split_clauses("[e for e in employees if e.hire_date >= start].length > per_head")
    assert clause.symbols == ("employees", "start", "per_head")
