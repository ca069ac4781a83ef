"""docs/rules.md cannot rot: its example rules parse, type-check and compile.

Every rule in backticks in a table column headed "example" must pass `policies.checking` and the
matcher's compile check; every rule in a column headed "refused when checked" must be refused by
the first, every rule in one headed "refused when published" by the second. The page must also
give an example for every registry column and name every attribute rule-engine offers on the
types a registry value can have.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rule_engine import DataType
from rule_engine.engine._attribute_resolver import _AttributeResolver

from matching import service as matching_service
from policies.checking import check
from policies.document import PolicyDocument, load_document
from policies.errors import PolicyDocumentError
from subsidy.registry.schema import EMPLOYEES, ENTERPRISES

PAGE = Path(__file__).parents[2] / "docs" / "rules.md"
TEXT = PAGE.read_text(encoding="utf-8")
PARAMETERS = {"rate": Decimal("0.5"), "per_head": Decimal(1000), "hires_from": "2020-02-01"}


def _cells(row: str) -> list[str]:
    """A table row's cells; `\\|` is a pipe inside a cell."""
    inner = row.strip().strip("|")
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", inner)]


def rules_in(column: str) -> list[str]:
    """Every backticked rule in the tables' columns headed `column`, in page order."""
    rules: list[str] = []
    lines = TEXT.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("|") or i + 1 >= len(lines) or not lines[i + 1].startswith("| ---"):
            continue
        header = _cells(line)
        if column not in header:
            continue
        index = header.index(column)
        for row in lines[i + 2 :]:
            if not row.startswith("|"):
                break
            rules.extend(re.findall(r"`([^`]+)`", _cells(row)[index]))
    return rules


EXAMPLES = rules_in("example")
REFUSED = rules_in("refused when checked")
NOT_COMPILED = rules_in("refused when published")


def document_with(rule: str) -> PolicyDocument:
    """A policy whose eligibility uses `rule` whatever its type (`!= null` is typed for all)."""
    parameters = {
        name: {"value": str(value) if isinstance(value, str) else value, "basis": "doc"}
        for name, value in PARAMETERS.items()
    }
    text = f"""
id: doc-example
title: rules.md example
department: docs
basis: docs/rules.md
valid_from: 2020-06-30
valid_to: 2020-12-31
budget: 1000
mode: one-click
parameters: {json.dumps(parameters, default=float)}
eligibility: {json.dumps(f"({rule}) != null", ensure_ascii=False)}
amount: "1"
tests:
  - name: any
    enterprise: {{status: active}}
    expect: {{eligible: true}}
"""
    return load_document(text.replace('"2020-02-01"', "2020-02-01"), "rules.md")


def test_the_page_has_its_examples() -> None:
    assert len(EXAMPLES) >= 100
    assert len(REFUSED) >= 5
    assert len(NOT_COMPILED) >= 5
    assert len(set(EXAMPLES)) == len(EXAMPLES), "each example once"


def test_the_parameters_are_typed_like_a_policy_s() -> None:
    checked = check(document_with("hires_from"))
    assert checked.parameters["rate"] == Decimal("0.5")
    assert str(checked.parameters["hires_from"]) == "2020-02-01"


@pytest.mark.parametrize("rule", EXAMPLES)
def test_an_example_parses_type_checks_and_compiles(rule: str) -> None:
    checked = check(document_with(rule))
    assert matching_service.compile_issues(checked, "rules.md") == []


@pytest.mark.parametrize("rule", NOT_COMPILED)
def test_an_example_the_matcher_refuses_is_refused_when_published(rule: str) -> None:
    checked = check(document_with(rule))
    assert matching_service.compile_issues(checked, "rules.md") != []


@pytest.mark.parametrize("rule", REFUSED)
def test_a_refused_example_is_refused(rule: str) -> None:
    with pytest.raises(PolicyDocumentError):
        check(document_with(rule))


def test_every_registry_column_has_an_example() -> None:
    used = " ".join(EXAMPLES)
    missing = [c for c in ENTERPRISES.names if not re.search(rf"(?<![\w.]){c}\b", used)]
    missing += [c for c in EMPLOYEES.names if c != "uscc" and f"e.{c}" not in used]
    assert missing == []


@pytest.mark.parametrize(
    "data_type",
    [DataType.FLOAT, DataType.STRING, DataType.DATETIME, DataType.TIMEDELTA, DataType.ARRAY],
    ids=lambda t: t.name,
)
def test_every_rule_engine_attribute_is_on_the_page(data_type: Any) -> None:
    names = _AttributeResolver.attribute.type_map[data_type]
    assert [name for name in names if f".{name}" not in TEXT] == []
