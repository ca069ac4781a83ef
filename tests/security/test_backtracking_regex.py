"""Finding: `name =~ '(.*.*)*Q'` passed validate, test, preview and publish (polars' regex is
linear), then froze the server in Python's `re` on a firm's page. Such patterns are refused when
the policy is validated, at the line and column of the pattern, with a way out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from policies.checking import load_and_check
from policies.errors import PolicyDocumentError
from policies.regexes import problem
from subsidy.auth import Role
from tests.apps import app_for_this_test
from tests.security._policies import (
    BACKTRACKS,
    ELIGIBILITY_COLUMN,
    ELIGIBILITY_LINE,
    with_eligibility,
)
from tests.subsidy.test_api import token

CATASTROPHIC = [
    BACKTRACKS,
    "(a+)+$",
    "(a*)*b",
    r"^(\w+\s?)+$",
    "(a|a)*b",
    "(a|ab)*c",
    "^(a|aa)+$",
    "(a{1,5})*b",
    ".*.*.*Q",
    r"\d+\d+x",
    "(x+x+)+y",
    "(?i)(科技.*)+有限公司",
]

REALISTIC = [
    r"^91330[0-9]{13}$",
    "(?i)科技|技术",
    "^(C|I)",
    "(?i)tech|科技",
    ".*科技.*",
    "杭州.*(科技|网络)",
    r"^I6[45]",
    r"^C(1[3-9]|2[0-9]|3[0-9]|4[0-3])",
    "有限(责任)?公司$",
    r"^(?:91|92|93)\d{6}",
    r"^\d{1,3}$",
    r"(\d{1,3},)*\d+",
    r"^[A-Z]\d+",
    "投资|资产管理",
    r"\S+\s",
    r"(.)\1",
    "(?:科技|科学)+",
    r"^[^\W\d]",
    r"(?i)straße",
    "x*",
]


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_a_pattern_that_backtracks_catastrophically_is_refused(pattern: str) -> None:
    assert problem(pattern) is not None


@pytest.mark.parametrize("pattern", REALISTIC)
def test_an_ordinary_policy_pattern_passes(pattern: str) -> None:
    assert problem(pattern) is None


def test_validation_refuses_it_at_the_line_and_column_of_the_pattern() -> None:
    text = with_eligibility(f"name =~ '{BACKTRACKS}' and not dishonest")
    with pytest.raises(PolicyDocumentError) as refused:
        load_and_check(text, "tech.yaml")
    (issue,) = refused.value.issues
    assert issue.field == "eligibility"
    assert (issue.line, issue.column) == (ELIGIBILITY_LINE, ELIGIBILITY_COLUMN + len("name =~ "))
    assert "backtrack catastrophically" in issue.message
    assert "without a repetition inside a repetition" in issue.message  # the way out


def test_a_parameter_holding_such_a_pattern_is_refused_too() -> None:
    text = with_eligibility("name =~ pattern and not dishonest").replace(
        "parameters:\n", f"parameters:\n  pattern: {{value: '{BACKTRACKS}', basis: a test}}\n", 1
    )
    with pytest.raises(PolicyDocumentError) as refused:
        load_and_check(text, "tech.yaml")
    assert "backtrack catastrophically" in refused.value.issues[0].message


def test_a_pattern_read_from_a_firms_data_is_refused() -> None:
    with pytest.raises(PolicyDocumentError) as refused:
        load_and_check(with_eligibility("name =~ district and not dishonest"), "tech.yaml")
    assert "must be written in the rule" in refused.value.issues[0].message


@pytest.fixture
def client(app_env: Engine) -> Iterator[TestClient]:
    with TestClient(app_for_this_test()) as test_client:
        yield test_client


def test_a_draft_with_it_is_saved_but_neither_valid_nor_publishable(client: TestClient) -> None:
    officer = token(Role.OFFICER) | {"Content-Type": "application/yaml"}
    text = with_eligibility(f"name =~~ '{BACKTRACKS}' and not dishonest")
    saved = client.post("/api/v1/policy-drafts", content=text, headers=officer)
    assert saved.status_code == 201
    (issue,) = saved.json()["validation"]["issues"]
    assert issue["field"] == "eligibility"
    assert "backtrack catastrophically" in issue["message"]
    published = client.post(
        f"/api/v1/policy-drafts/{saved.json()['id']}/publish", headers=token(Role.OFFICER)
    )
    assert published.status_code == 422
