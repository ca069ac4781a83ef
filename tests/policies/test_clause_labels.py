"""Clause labels: `clauses: [{zh, en}, ...]`, one per top-level clause of the eligibility in
order, both languages required; a document without them loads and hashes as before, and a
stored version keeps them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from policies.clauses import split_clauses
from policies.document import canonical_json, content_hash, load_document
from tests.policies.test_document import issues_of, line_of, policy_yaml

RULE = "\"status == 'active' and not dishonest and ui_premium > 0\""
THREE = (
    "\n  - {zh: 企业处于存续状态, en: The firm is active}"
    "\n  - {zh: 未列入失信名单, en: Not on the list of dishonest firms}"
    "\n  - {zh: 上年缴纳了失业保险费, en: Paid unemployment-insurance premium last year}"
)
EXAMPLES = sorted((Path(__file__).parents[2] / "policies" / "examples").glob("**/*.yaml"))


def test_one_label_per_clause_in_order() -> None:
    document = load_document(policy_yaml(eligibility=RULE, clauses=THREE), "p.yaml")
    assert document.clauses is not None
    assert [c.zh for c in document.clauses][:2] == ["企业处于存续状态", "未列入失信名单"]
    third = document.clause_label(2)
    assert third is not None
    assert third.get("en") == "Paid unemployment-insurance premium last year"
    assert document.clause_label(3) is None


def test_a_count_that_differs_names_the_field_and_lists_the_clauses() -> None:
    two = THREE.rsplit("\n", 1)[0]
    text = policy_yaml(eligibility=RULE, clauses=two)
    [issue] = issues_of(text)
    assert issue.field == "clauses"
    assert issue.line == line_of(text, "clauses:") + 1  # the list of labels
    assert issue.code == "policy.schema.clause_labels"
    assert "has 3 clauses but 2 labels" in issue.message
    assert "1. status == 'active'; 2. not dishonest; 3. ui_premium > 0" in issue.message
    assert issue.message_in("zh").startswith("资格条件有 3 个条款，却给出了 2 个标签")


@pytest.mark.parametrize(
    ("label", "field"),
    [
        ("{zh: 存续}", "clauses[0].en"),
        ("{en: Active}", "clauses[0].zh"),
        ("{zh: '', en: Active}", "clauses[0].zh"),
        ("{zh: '  ', en: Active}", "clauses[0].zh"),
        ("{zh: 存续, en: Active, fr: Actif}", "clauses[0].fr"),
    ],
)
def test_each_label_needs_zh_and_en(label: str, field: str) -> None:
    text = policy_yaml(eligibility="\"status == 'active'\"", clauses=f"\n  - {label}")
    assert [i.field for i in issues_of(text)] == [field]


def test_without_labels_the_document_hashes_as_before() -> None:
    plain = load_document(policy_yaml(), "p.yaml")
    assert plain.clauses is None
    assert '"clauses"' not in canonical_json(plain)


def test_a_stored_version_keeps_its_labels() -> None:
    document = load_document(policy_yaml(eligibility=RULE, clauses=THREE), "p.yaml")
    stored = load_document(canonical_json(document), "v.json")
    assert stored == document
    assert content_hash(stored) == content_hash(document)
    assert content_hash(document) != content_hash(load_document(policy_yaml(eligibility=RULE), "p"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_labels_each_clause(path: Path) -> None:
    # read as YAML: a source example's test firms name declared columns, which the document
    # schema checks against the catalog in force
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    labels = data.get("clauses")
    assert labels, f"{path.name} has no clause labels"
    assert len(labels) == len(split_clauses(data["eligibility"]))
    assert all(label["zh"].strip() and label["en"].strip() for label in labels)
