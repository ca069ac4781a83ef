"""Type-checking rules: each problem placed at the file's line and column, all reported at once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rule_engine import DataType

from policies.checking import check, load_and_check, rules_for
from policies.document import PolicyDocument, canonical_json, load_document
from policies.errors import Issue, PolicyDocumentError
from policies.language import firm_record
from tests.policies.test_document import column_of, line_of, policy_yaml


def issues_of(text: str, source: str = "policy.yaml") -> list[Issue]:
    with pytest.raises(PolicyDocumentError) as caught:
        load_and_check(text, source)
    return caught.value.issues


def only_issue(text: str, source: str = "policy.yaml") -> Issue:
    issues = issues_of(text, source)
    assert len(issues) == 1, issues
    return issues[0]


def place(issue: Issue) -> tuple[int | None, int | None]:
    return issue.line, issue.column


def test_a_valid_policy_checks() -> None:
    checked = load_and_check(policy_yaml(), "policy.yaml")
    assert checked.parameters == {"rate": Decimal("0.5")}
    assert checked.eligibility.statement.expression.result_type == DataType.BOOLEAN
    record = firm_record({"status": "active", "ui_premium": Decimal("10")}, [])
    assert checked.amount.evaluate(record) == Decimal("5.0")


def test_a_typo_is_placed_and_corrected() -> None:
    text = policy_yaml(eligibility="statsu == 'active'")
    issue = only_issue(text)
    assert issue.field == "eligibility"
    assert issue.message == "unknown symbol 'statsu' (did you mean 'status'?)"
    assert place(issue) == (line_of(text, "statsu"), column_of(text, "statsu"))
    assert str(issue) == f"policy.yaml:{issue.line}:{issue.column}: eligibility: {issue.message}"


def test_a_typo_inside_a_double_quoted_rule() -> None:
    text = policy_yaml(eligibility="\"status == 'active' and ui_premum > 0\"")
    issue = only_issue(text)
    assert issue.message == "unknown symbol 'ui_premum' (did you mean 'ui_premium'?)"
    assert place(issue) == (line_of(text, "ui_premum"), column_of(text, "ui_premum"))


def test_a_misspelt_parameter_is_suggested() -> None:
    text = policy_yaml(amount="ui_premium * rat")
    issue = only_issue(text)
    assert issue.message == "unknown symbol 'rat' (did you mean 'rate'?)"
    assert place(issue) == (line_of(text, "* rat"), column_of(text, "* rat") + 2)


def test_the_symbol_is_found_as_a_whole_word() -> None:
    text = policy_yaml(amount="ui_premium * rate + ra")
    assert only_issue(text).column == column_of(text, "+ ra") + 2


def test_syntax_error_in_a_plain_one_line_rule() -> None:
    text = policy_yaml(eligibility="status = 'active'")
    issue = only_issue(text)
    assert issue.message.startswith("syntax error")
    assert place(issue) == (line_of(text, "status ="), column_of(text, "= 'active'"))


def test_syntax_error_in_a_single_quoted_rule_with_escapes() -> None:
    text = policy_yaml(eligibility="'size == ''micro'' and x = 1'")
    issue = only_issue(text)
    assert place(issue) == (line_of(text, "x = 1"), column_of(text, "= 1"))


def test_syntax_error_after_an_escape_in_a_double_quoted_rule() -> None:
    text = policy_yaml(eligibility='"status == \\"active\\"\\tand x = 1"')
    issue = only_issue(text)
    assert place(issue) == (line_of(text, "x = 1"), column_of(text, "= 1"))


def test_syntax_error_on_a_later_line_of_a_block_rule() -> None:
    text = policy_yaml(
        eligibility="|\n  status == 'active'\n    and not dishonest\n    and ui_premium = 0"
    )
    issue = only_issue(text)
    assert place(issue) == (line_of(text, "ui_premium = 0"), column_of(text, "= 0"))


def test_syntax_error_in_a_folded_rule() -> None:
    text = policy_yaml(eligibility=">-\n  status == 'active' and\n  ui_premium = 0")
    issue = only_issue(text)
    assert place(issue) == (line_of(text, "ui_premium = 0"), column_of(text, "= 0"))


def test_an_unexpected_token_is_placed_at_the_token() -> None:
    text = policy_yaml(eligibility="status == 'active' and and not dishonest")
    issue = only_issue(text)
    assert "at 'and'" in issue.message
    assert issue.column == column_of(text, "and and") + 4


def test_a_rule_that_ends_too_early_points_at_its_end() -> None:
    text = policy_yaml(amount="(ui_premium * rate")
    issue = only_issue(text)
    assert issue.message == "syntax error: the rule ends too early"
    assert place(issue) == (line_of(text, "(ui_premium"), len("amount: (ui_premium * rate") + 1)


def test_positions_do_not_drift_across_parses() -> None:
    """rule-engine's lexer keeps counting lines from one parse to the next: we must not."""
    block = policy_yaml(eligibility="|\n  status == 'active'\n\n\n    and x = 1")
    one_line = policy_yaml(eligibility="status = 'active'")
    first = [place(only_issue(one_line)) for _ in range(2)]
    only_issue(block)
    only_issue(block)
    assert place(only_issue(one_line)) == first[0] == first[1]
    assert place(only_issue(block)) == (line_of(block, "x = 1"), column_of(block, "= 1"))


def test_an_unknown_employee_attribute_is_named() -> None:
    text = policy_yaml(
        eligibility="|\n  status == 'active'"
        "\n  and [e for e in employees if e.salary > 3].length > 0"
    )
    issue = only_issue(text)
    assert issue.message.startswith("employees have no attribute 'salary'")
    assert place(issue) == (line_of(text, "e.salary"), column_of(text, "salary"))


def test_a_near_miss_attribute_is_corrected() -> None:
    text = policy_yaml(eligibility='"[e for e in employees if e.insure].length > 0"')
    assert "(did you mean 'insured'?)" in only_issue(text).message


def test_a_type_error_is_reported_on_its_clause() -> None:
    text = policy_yaml(amount="status + 1")
    issue = only_issue(text)
    assert issue.field == "amount"
    assert issue.message.startswith("type error")
    assert place(issue) == (line_of(text, "status + 1"), column_of(text, "status + 1"))


def test_eligibility_must_be_boolean() -> None:
    issue = only_issue(policy_yaml(eligibility="ui_premium * 2"))
    assert issue.message == "eligibility must be true or false, not a number"


def test_amount_must_be_a_number() -> None:
    issue = only_issue(policy_yaml(amount="status"))
    assert (issue.field, issue.message) == ("amount", "amount must be a number, not text")


def test_both_clauses_are_reported_together() -> None:
    issues = issues_of(policy_yaml(eligibility="statsu == 'a'", amount="ui_premium *"))
    assert [issue.field for issue in issues] == ["eligibility", "amount"]


def test_check_remembers_the_text_the_document_came_from() -> None:
    text = policy_yaml(eligibility="statsu == 'active'")
    document = load_document(text, "kept.yaml")
    with pytest.raises(PolicyDocumentError) as caught:
        check(document)
    issue = caught.value.issues[0]
    assert (issue.source, issue.line) == ("kept.yaml", line_of(text, "statsu"))


def test_a_document_built_in_code_gets_positions_inside_the_rule() -> None:
    data = load_document(policy_yaml(), "p.yaml").model_dump()
    document = PolicyDocument.model_validate(data | {"eligibility": "status ==\n  'a' and x = 1"})
    with pytest.raises(PolicyDocumentError) as caught:
        check(document)
    assert place(caught.value.issues[0]) == (2, 13)
    assert caught.value.issues[0].source == "<policy>"


def test_rules_in_json_are_placed_too() -> None:
    document = load_document(policy_yaml(), "p.yaml").model_copy(
        update={"eligibility": "statsu == 'active'"}
    )
    text = canonical_json(document)
    issue = only_issue(text, "p.json")
    assert place(issue) == (1, text.index("statsu") + 1)


def test_rules_for_rebuilds_the_rules_with_another_today() -> None:
    document = load_document(
        policy_yaml(eligibility="($today - established).days >= 365"), "policy.yaml"
    )
    record = firm_record({"established": dt.date(2020, 1, 1)}, [])
    assert check(document).eligibility.evaluate(record) is False  # today = valid_from 2020-02-01
    eligibility, amount = rules_for(document, dt.date(2021, 1, 1))
    assert eligibility.evaluate(record) is True
    assert amount.text == "ui_premium * rate"
