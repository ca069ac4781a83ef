"""Loading policy documents: exact numbers, every problem named by field, line and column."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from policies.checking import load_and_check
from policies.document import (
    PolicyDocument,
    canonical_json,
    content_hash,
    load_document,
    load_path,
)
from policies.errors import Issue, PolicyDocumentError, PolicyError
from subsidy.errors import QinqingError

FIELDS = {
    "id": "test-policy",
    "title": "Test policy",
    "department": "Test bureau",
    "basis": "Test Measures [2020] No. 1",
    "valid_from": "2020-02-01",
    "valid_to": "2020-12-31",
    "budget": "1000000",
    "mode": "one-click",
    "parameters": '\n  rate: {value: 0.5, basis: "art. 2"}',
    "eligibility": "status == 'active'",
    "amount": "ui_premium * rate",
}


def policy_yaml(**fields: str | None) -> str:
    """A valid policy text; `fields` replace (raw YAML), add or (None) remove top-level fields."""
    merged = FIELDS | fields
    return "".join(f"{key}: {value}\n" for key, value in merged.items() if value is not None)


def line_of(text: str, needle: str) -> int:
    """1-based number of the first line containing `needle`."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def column_of(text: str, needle: str) -> int:
    line = text.splitlines()[line_of(text, needle) - 1]
    return line.index(needle) + 1


def issues_of(text: str, source: str = "policy.yaml") -> list[Issue]:
    with pytest.raises(PolicyDocumentError) as caught:
        load_document(text, source)
    return caught.value.issues


def only_issue(text: str, source: str = "policy.yaml") -> Issue:
    issues = issues_of(text, source)
    assert len(issues) == 1, issues
    return issues[0]


def test_a_valid_document_loads() -> None:
    document = load_document(policy_yaml(), "policy.yaml")
    assert document.id == "test-policy"
    assert document.mode == "one-click"
    assert document.parameters["rate"].basis == "art. 2"
    assert document.tests == []


def test_yaml_numbers_are_exact_decimals() -> None:
    text = policy_yaml(
        budget="0.1",
        parameters="\n  a: {value: 0.1, basis: x}\n  b: {value: 0.2, basis: x}"
        "\n  n: {value: 3, basis: x}",
    )
    document = load_document(text, "policy.yaml")
    assert document.budget == Decimal("0.1")
    assert isinstance(document.budget, Decimal)
    a, b, n = (document.parameters[k].value for k in "abn")
    assert isinstance(a, Decimal)
    assert isinstance(b, Decimal)
    assert a + b == Decimal("0.3")
    assert type(n) is Decimal
    assert n == 3


def test_json_numbers_are_exact_decimals() -> None:
    data = json.loads(json.dumps({k: v for k, v in FIELDS.items() if k != "parameters"}))
    data["parameters"] = {"rate": {"value": "__RATE__", "basis": "art. 2"}}
    text = json.dumps(data).replace('"__RATE__"', "0.1").replace('"1000000"', "1000000.10")
    document = load_document(text, "policy.json")
    assert document.budget == Decimal("1000000.10")
    assert document.parameters["rate"].value == Decimal("0.1")
    assert isinstance(document.parameters["rate"].value, Decimal)


def test_floats_are_refused_when_built_in_code() -> None:
    data = load_document(policy_yaml(), "policy.yaml").model_dump()
    data["budget"] = 0.1
    with pytest.raises(ValidationError, match="float"):
        PolicyDocument.model_validate(data)


def test_parameter_types() -> None:
    text = policy_yaml(
        parameters="\n  start: {value: 2020-01-24, basis: x}\n  flag: {value: true, basis: x}"
        '\n  label: {value: "C27", basis: x}'
    )
    params = load_document(text, "policy.yaml").parameters
    assert str(params["start"].value) == "2020-01-24"
    assert params["flag"].value is True
    assert params["label"].value == "C27"


def test_a_missing_field_is_named() -> None:
    issue = only_issue(policy_yaml(amount=None))
    assert issue.field == "amount"
    assert issue.message == "required field is missing"
    assert issue.source == "policy.yaml"


def test_an_unknown_field_is_placed_and_a_correction_suggested() -> None:
    text = policy_yaml(eligibility=None, elegibility="status == 'active'")
    issues = {issue.field: issue for issue in issues_of(text)}
    typo = issues["elegibility"]
    assert typo.line == line_of(text, "elegibility")
    assert typo.column == 1
    assert "did you mean 'eligibility'" in typo.message
    assert issues["eligibility"].message == "required field is missing"


def test_a_badly_typed_field_is_placed_at_its_value() -> None:
    text = policy_yaml(budget="lots")
    issue = only_issue(text)
    assert issue.field == "budget"
    assert (issue.line, issue.column) == (line_of(text, "budget:"), len("budget: ") + 1)


@pytest.mark.parametrize("budget", ["0", "-5", "1.005"])
def test_budget_is_positive_money(budget: str) -> None:
    assert only_issue(policy_yaml(budget=budget)).field == "budget"


def test_a_nested_field_is_named_by_its_path() -> None:
    text = policy_yaml(
        tests="\n  - name: one\n    enterprise: {status: active}\n    expect: {eligible: true}"
        "\n  - name: two\n    enterprise: {status: active}"
        "\n    expect: {eligible: true, amount: abc}"
    )
    issue = only_issue(text)
    assert issue.field == "tests[1].expect.amount"
    assert (issue.line, issue.column) == (line_of(text, "abc"), column_of(text, "abc"))


def test_a_parameter_without_basis_is_refused() -> None:
    text = policy_yaml(parameters="\n  rate: {value: 0.5}")
    issue = only_issue(text)
    assert issue.field == "parameters.rate.basis"
    assert issue.line == line_of(text, "rate:")


@pytest.mark.parametrize(
    ("name", "reason"),
    [("status", "registry column"), ("ui_premium", "registry column"), ("in", "keyword")],
)
def test_a_parameter_may_not_hide_a_column_or_keyword(name: str, reason: str) -> None:
    issue = only_issue(policy_yaml(parameters=f"\n  {name}: {{value: 1, basis: x}}"))
    assert issue.field == "parameters"
    assert reason in issue.message
    assert repr(name) in issue.message


def test_the_period_must_not_end_before_it_starts() -> None:
    issue = only_issue(policy_yaml(valid_to="2020-01-01"))
    assert issue.field == "valid_to"
    assert "before" in issue.message


def test_the_id_is_a_slug() -> None:
    assert only_issue(policy_yaml(id="Not A Slug")).field == "id"


def test_a_test_firm_names_registry_columns_only() -> None:
    """Which columns exist is the catalog's to say (a declared source adds some), so a name the
    registry lacks loads and is refused when the document is checked, placed at the firm."""
    text = policy_yaml(
        tests="\n  - name: t\n    enterprise: {statsu: active}\n    expect: {eligible: true}"
    )
    load_document(text, "policy.yaml")
    with pytest.raises(PolicyDocumentError) as caught:
        load_and_check(text, "policy.yaml")
    (issue,) = caught.value.issues
    assert issue.field == "tests[0].enterprise"
    assert "unknown column 'statsu' (did you mean 'status'?)" in issue.message
    assert issue.line == line_of(text, "statsu")


def test_a_test_firm_never_names_what_no_rule_could_read() -> None:
    """Not an identifier, or an employee's `uscc` (the firm's own): refused on loading."""
    firm = policy_yaml(
        tests="\n  - name: t\n    enterprise: {'sta tus': active}\n    expect: {eligible: true}"
    )
    assert only_issue(firm).field == "tests[0].enterprise"
    staff = policy_yaml(
        tests="\n  - name: t\n    enterprise: {status: active}"
        "\n    employees: [{uscc: x}]\n    expect: {eligible: true}"
    )
    assert "unknown column 'uscc'" in only_issue(staff).message


def test_an_ineligible_expectation_has_no_amount() -> None:
    text = policy_yaml(
        tests="\n  - name: t\n    enterprise: {status: active}"
        "\n    expect: {eligible: false, amount: 5}"
    )
    assert only_issue(text).field == "tests[0].expect"


def test_every_problem_is_reported_at_once() -> None:
    issues = issues_of(policy_yaml(budget="-1", mode="by-post", title=None))
    assert {issue.field for issue in issues} == {"budget", "mode", "title"}


def test_yaml_syntax_errors_carry_yaml_position() -> None:
    text = policy_yaml(eligibility="[status, ")
    issue = only_issue(text)
    assert issue.message.startswith("invalid YAML")
    assert issue.line is not None
    assert issue.line > line_of(text, "eligibility")


def test_json_syntax_errors_carry_json_position() -> None:
    issue = only_issue('{\n  "id": "x",\n  "title": }', "policy.json")
    assert issue.message.startswith("invalid JSON")
    assert (issue.line, issue.column) == (3, 12)


def test_a_document_must_be_a_mapping() -> None:
    assert "mapping" in only_issue("- a\n- b\n").message


def test_duplicate_keys_are_refused() -> None:
    text = policy_yaml() + "budget: 5\n"
    issue = only_issue(text)
    assert (issue.field, issue.message, issue.line) == (
        "budget",
        "duplicate key",
        len(text.splitlines()),
    )


def test_recursive_aliases_do_not_hang_the_loader() -> None:
    issues = issues_of(policy_yaml(tests="&loop [*loop]"))
    assert {issue.field for issue in issues} <= {"tests[0]", "tests"}


def test_issue_text_reads_like_a_compiler_message() -> None:
    issue = Issue("policy.yaml", "eligibility", 12, 18, "unknown symbol 'statsu'")
    assert str(issue) == "policy.yaml:12:18: eligibility: unknown symbol 'statsu'"
    assert str(Issue("p.json", "", None, None, "unreadable")) == "p.json: unreadable"


def test_the_error_belongs_to_the_hierarchy_and_lists_issues() -> None:
    with pytest.raises(PolicyDocumentError) as caught:
        load_document(policy_yaml(amount=None, mode="x"), "policy.yaml")
    assert isinstance(caught.value, PolicyError)
    assert isinstance(caught.value, QinqingError)
    assert caught.value.source == "policy.yaml"
    assert "2 problems" in str(caught.value)
    assert "policy.yaml:" in str(caught.value)


def test_load_path_reads_files(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(policy_yaml(), encoding="utf-8")
    assert load_path(path).id == "test-policy"
    with pytest.raises(PolicyDocumentError) as caught:
        load_path(tmp_path / "missing.yaml")
    assert caught.value.issues[0].source.endswith("missing.yaml")


def test_canonical_json_is_independent_of_formatting() -> None:
    one = load_document(policy_yaml(budget="1000000.50"), "a.yaml")
    fields = FIELDS | {"budget": "1000000.5", "title": '"Test policy"  # quoted'}
    reordered = "# a comment\n" + "".join(f"{k}: {v}\n" for k, v in reversed(fields.items()))
    other = load_document(reordered, "b.yaml")
    assert canonical_json(one) == canonical_json(other)
    assert content_hash(one) == content_hash(other)
    assert content_hash(one) != content_hash(load_document(policy_yaml(budget="1000000.51"), "c"))


def test_canonical_json_round_trips_exactly() -> None:
    text = policy_yaml(
        parameters="\n  rate: {value: 0.1, basis: x}\n  since: {value: 2020-01-24, basis: y}",
        tests="\n  - name: t"
        "\n    enterprise: {status: active, established: 2019-01-01, ui_premium: 0.3}"
        "\n    employees: [{person_id: p, hire_date: 2020-01-01, insured: true}]"
        "\n    expect: {eligible: true, amount: 0.03}",
    )
    document = load_document(text, "policy.yaml")
    stored = canonical_json(document)
    assert '"rate":{"basis":"x","value":0.1}' in stored
    assert load_document(stored, "v1.json") == document
    assert content_hash(load_document(stored, "v1.json")) == content_hash(document)
