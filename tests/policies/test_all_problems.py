"""Checking a policy shows every problem at once: when the schema refuses a document, the rules
it can still read are checked too, each problem at its own line and column, through
`load_checked`, `qinqing policy validate` and a draft's validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from policies.checking import load_and_check, load_checked, readable_rule_issues
from policies.errors import Issue, PolicyDocumentError
from tests.commands import qinqing, wide_terminal  # noqa: F401 (an autouse fixture)

UI_PATH = Path(__file__).parents[2] / "policies" / "examples" / "hz-2020-ui-refund.yaml"
UI = UI_PATH.read_text(encoding="utf-8")


def issues_of(text: str) -> dict[str, Issue]:
    with pytest.raises(PolicyDocumentError) as refused:
        load_checked(text, "broken.yaml")
    return {issue.field: issue for issue in refused.value.issues}


def where(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the first `needle`."""
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(needle)


def test_a_wrong_field_type_and_an_unknown_symbol_are_both_reported() -> None:
    text = UI.replace("budget: 500000000", "budget: plenty").replace(
        "status == 'active'", "statu == 'active'"
    )
    found = issues_of(text)
    assert found.keys() == {"budget", "eligibility"}
    assert (found["budget"].line, found["budget"].column) == where(text, "plenty")
    assert (found["eligibility"].line, found["eligibility"].column) == where(text, "statu ")
    assert "unknown symbol 'statu'" in found["eligibility"].message
    assert "did you mean 'status'" in found["eligibility"].message
    with pytest.raises(PolicyDocumentError) as refused:
        load_and_check(text, "broken.yaml")
    assert {i.field for i in refused.value.issues} == {"budget", "eligibility"}


def test_both_rules_are_checked_beside_the_schema() -> None:
    text = (
        UI.replace("mode: automatic", "mode: sometimes")
        .replace("and ui_premium > 0", "and ui_premum > 0")
        .replace("amount: ui_premium * refund_rate", "amount: \"'text'\"")
    )
    found = issues_of(text)
    assert found.keys() == {"mode", "eligibility", "amount"}
    assert "amount must be a number, not text" in found["amount"].message
    assert (found["eligibility"].line, found["eligibility"].column) == where(text, "ui_premum")


def test_a_refused_parameter_is_not_also_an_unknown_symbol() -> None:
    text = UI.replace("refund_rate: {value: 0.5,", "refund_rate: {value: [0.5],")
    found = issues_of(text)
    assert list(found) == ["parameters.refund_rate.value"]  # not "unknown symbol 'refund_rate'"


def test_the_rules_read_valid_parameters_despite_schema_problems() -> None:
    text = UI.replace("budget: 500000000", "budget: -1")
    found = issues_of(text)
    assert list(found) == ["budget"]  # the rules use refund_rate, which is fine


def test_a_syntax_error_says_all_and_a_valid_text_has_no_rule_issues() -> None:
    assert readable_rule_issues("id: [unclosed", "broken.yaml") == []
    assert readable_rule_issues(UI, "ui.yaml") == []
    assert readable_rule_issues("- a list", "list.yaml") == []


def test_validate_prints_every_problem_with_its_position(app_env: Engine, tmp_path: Path) -> None:
    text = UI.replace("cap: 3000000", "cap: a lot").replace("tax_rating != 'D'", "tax_ratin != 'D'")
    bad = tmp_path / "both.yaml"
    bad.write_text(text, encoding="utf-8")
    code, output = qinqing("policy", "validate", bad)
    assert code == 1
    line, column = where(text, "a lot")
    assert f"both.yaml:{line}:{column}: cap:" in output
    line, column = where(text, "tax_ratin ")
    assert f"both.yaml:{line}:{column}: eligibility: unknown symbol 'tax_ratin'" in output
    assert "2 problems" in output
