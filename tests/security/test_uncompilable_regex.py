"""Finding: a regex too large for polars (`(a{1000}){1000}`) passed publish, then every
`qinqing match` failed with a traceback for every policy, and a draft's preview answered 500. It
is refused when the policy is validated, at the pattern's line and column, by a bound on how far
its repetitions expand and by polars itself compiling the pattern; the compiler never leaves it
to a run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from matching.compiler import check_compilable, compile_policy
from matching.errors import InvalidRule
from policies import regexes
from policies.checking import load_and_check
from policies.errors import PolicyDocumentError
from subsidy.auth import Role
from tests.apps import app_for_this_test
from tests.security._policies import ELIGIBILITY_COLUMN, ELIGIBILITY_LINE, with_eligibility
from tests.subsidy.test_api import token

TOO_LARGE = "(a{1000}){1000}"


def test_validation_refuses_it_at_the_line_and_column_of_the_pattern() -> None:
    with pytest.raises(PolicyDocumentError) as refused:
        load_and_check(with_eligibility(f"name =~ '{TOO_LARGE}' and not dishonest"), "t.yaml")
    (issue,) = refused.value.issues
    assert (issue.field, issue.line) == ("eligibility", ELIGIBILITY_LINE)
    assert issue.column == ELIGIBILITY_COLUMN + len("name =~ ")
    assert "use smaller counts" in issue.message


def test_polars_compiling_it_refuses_what_the_bound_would_let_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(regexes, "MAX_REGEX_REPETITION", 10**9)
    regexes.problem.cache_clear()
    try:
        found = regexes.problem(TOO_LARGE)
        unicode = regexes.problem(r"\w{5000}")
    finally:
        regexes.problem.cache_clear()
    assert found is not None
    assert "compiles too large for the matcher" in found
    assert unicode is not None
    assert "ASCII classes like [0-9]" in unicode


def test_the_compiler_refuses_it_instead_of_leaving_it_to_a_run() -> None:
    with pytest.raises(InvalidRule, match="compiles too large"):
        compile_policy(f"name =~ '{TOO_LARGE}'", "1", None, {}, dt.date(2020, 6, 30))
    assert check_compilable(f"name =~ '{TOO_LARGE}'", "1", {})


@pytest.fixture
def client(app_env: Engine) -> Iterator[TestClient]:
    with TestClient(app_for_this_test()) as test_client:
        yield test_client


def test_a_drafts_preview_of_it_is_a_422_naming_the_pattern(client: TestClient) -> None:
    officer = token(Role.OFFICER)
    text = with_eligibility(f"name =~ '{TOO_LARGE}' and not dishonest")
    saved = client.post(
        "/api/v1/policy-drafts", content=text, headers=officer | {"Content-Type": "text/yaml"}
    )
    assert saved.status_code == 201
    preview = client.post(f"/api/v1/policy-drafts/{saved.json()['id']}/preview", headers=officer)
    assert preview.status_code == 422
    assert "(a{1000}){1000}" in preview.text
