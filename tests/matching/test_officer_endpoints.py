"""Officers over HTTP, the matcher's part: a draft's impact preview, one firm's explanation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from matching import preview as previewing
from policies.clauses import split_clauses
from policies.document import load_document, load_path
from subsidy import db
from subsidy.auth import Role
from subsidy.registry import demo
from subsidy.registry import service as registry_service
from subsidy.settings import get_settings
from tests.apps import app_for_this_test
from tests.subsidy.test_api import demo_uscc, token

EXAMPLES = Path(__file__).parents[2] / "policies" / "examples"
UI_PATH = EXAMPLES / "hz-2020-ui-refund.yaml"
UI = UI_PATH.read_text(encoding="utf-8")
UI_ID = "hz-2020-ui-refund"
AS_OF = dt.date(2020, 6, 30)
PROBLEM = "urn:qinqing:problem:"


@pytest.fixture
def client(app_env: Engine) -> Iterator[TestClient]:
    with TestClient(app_for_this_test()) as test_client:
        yield test_client


@pytest.fixture
def registry(app_env: Engine, data_dir: Path, tmp_path: Path) -> None:
    """A 200-firm demo registry, imported."""
    paths = demo.write(*demo.generate(200, seed=3), tmp_path / "registry", "parquet")
    with db.session_scope(app_env) as session:
        registry_service.import_registry(session, *paths, data_dir=data_dir)


def bearer(role: Role) -> dict[str, str]:
    return token(role, demo_uscc() if role is Role.ENTERPRISE else None)


def save(client: TestClient, text: str) -> int:
    response = client.post(
        "/api/v1/policy-drafts",
        content=text,
        headers=bearer(Role.OFFICER) | {"Content-Type": "application/yaml"},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def preview(client: TestClient, draft_id: int, query: str = f"?as_of={AS_OF}") -> Any:
    return client.post(
        f"/api/v1/policy-drafts/{draft_id}/preview{query}", headers=bearer(Role.OFFICER)
    )


def direct_preview(engine: Engine, data_dir: Path, text: str) -> previewing.Preview:
    """What `qinqing policy preview` computes for the same text."""
    with Session(engine) as session:
        return previewing.preview(session, data_dir, load_document(text, "direct.yaml"), AS_OF)


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = dict(response.json())
    assert body["type"] == PROBLEM + slug
    return body


def _table(rows: list[dict[str, Any]], key: str) -> list[tuple[Any, int, Decimal]]:
    return [(row[key], row["firms"], Decimal(row["amount"])) for row in rows]


def test_preview_answers_what_matching_preview_computes(
    client: TestClient, app_env: Engine, data_dir: Path, registry: None
) -> None:
    response = preview(client, save(client, UI))
    assert response.status_code == 200, response.text
    body = response.json()
    direct = direct_preview(app_env, data_dir, UI)
    assert (body["policy_id"], body["as_of"]) == (UI_ID, "2020-06-30")
    assert (body["firms"], body["qualified"], body["errors"]) == (
        direct.firms,
        direct.qualified,
        direct.errors,
    )
    assert body["firms"] == 200
    assert 0 < body["qualified"] < 200
    assert Decimal(body["total"]) == direct.total > 0
    assert Decimal(body["budget"]) == Decimal(500_000_000)
    assert _table(body["by_district"], "district") == direct.by_district.rows()
    assert _table(body["by_section"], "section") == direct.by_section.rows()
    assert sum(Decimal(d["amount"]) for d in body["by_district"]) == direct.total
    assert [(c["clause"], c["firms"]) for c in body["clause_stops"]] == direct.clause_stops
    assert [c["clause"] for c in body["clause_stops"]] == [
        "status == 'active'",
        "not dishonest",
        "tax_rating != 'D'",
        "ui_premium > 0",
    ]
    assert body["changes"] is None


def test_preview_against_the_published_version(
    client: TestClient, app_env: Engine, data_dir: Path, registry: None
) -> None:
    published = client.post(
        f"/api/v1/policy-drafts/{save(client, UI)}/publish", headers=bearer(Role.OFFICER)
    )
    assert published.status_code == 201, published.text
    lower = UI.replace("{value: 0.5,", "{value: 0.4,")
    response = preview(client, save(client, lower))
    assert response.status_code == 200, response.text
    changes = direct_preview(app_env, data_dir, lower).changes
    assert changes is not None
    assert response.json()["changes"] == {
        "version": 1,
        "gained": changes.gained,
        "lost": changes.lost,
        "changed_amount": changes.changed_amount,
    }
    assert changes.changed_amount == response.json()["qualified"] > 0


def test_preview_defaults_to_today_and_auditors_may_look(
    client: TestClient, registry: None
) -> None:
    draft_id = save(client, UI)
    response = client.post(
        f"/api/v1/policy-drafts/{draft_id}/preview", headers=bearer(Role.AUDITOR)
    )
    assert response.status_code == 200, response.text
    # today in the users' zone (Beijing), not the UTC day: they differ after 16:00 UTC
    assert response.json()["as_of"] == get_settings().business_date.isoformat()
    for role in (Role.FINANCE, Role.ENTERPRISE):
        refused = client.post(f"/api/v1/policy-drafts/{draft_id}/preview", headers=bearer(role))
        assert_problem(refused, 403, "forbidden")


def test_preview_refuses_what_cannot_run(client: TestClient, app_env: Engine) -> None:
    # in brackets: still the example's four clauses, which its labels name
    chance = UI.replace("ui_premium > 0", "(ui_premium > 0 and $random() > 0.5)")
    unsupported = save(client, chance)
    body = assert_problem(preview(client, unsupported), 422, "invalid-policy")
    assert "the compiler cannot compile" in body["issues"][0]["message"]
    misspelt = save(client, UI.replace("ui_premium > 0", "ui_premum > 0"))
    body = assert_problem(preview(client, misspelt), 422, "invalid-policy")
    assert (body["issues"][0]["line"], body["issues"][0]["column"]) == (19, 7)
    assert_problem(preview(client, 999), 404, "unknown-draft")
    no_registry = assert_problem(preview(client, save(client, UI)), 409, "registry-unavailable")
    assert "no enterprises registry has been imported yet" in no_registry["detail"]


def test_explain_a_firm_that_qualifies_and_one_that_does_not(
    client: TestClient, app_env: Engine, data_dir: Path, registry: None
) -> None:
    officer = bearer(Role.OFFICER)
    client.post(f"/api/v1/policy-drafts/{save(client, UI)}/publish", headers=officer)
    per_firm = direct_preview(app_env, data_dir, UI).per_firm
    yes = per_firm.filter(pl.col("eligible")).row(0, named=True)
    no = per_firm.filter(~pl.col("eligible")).row(0, named=True)

    url = f"/api/v1/policies/{UI_ID}/explain/{{}}?as_of={AS_OF}"
    qualifies = client.get(url.format(yes["uscc"]), headers=bearer(Role.AUDITOR))
    assert qualifies.status_code == 200, qualifies.text
    answer = qualifies.json()
    assert (answer["uscc"], answer["policy_version"], answer["policy_state"]) == (
        yes["uscc"],
        1,
        "published",
    )
    assert (answer["qualifies"], answer["error"]) == (True, None)
    assert Decimal(answer["amount"]) == yes["amount"]  # the reference agrees with the matcher
    assert Decimal(answer["cap"]) == Decimal(3_000_000)
    texts = [c.text for c in split_clauses(load_path(UI_PATH).eligibility)]
    assert [c["text"] for c in answer["clauses"]] == texts
    assert all(c["value"] is True for c in answer["clauses"])
    assert answer["clauses"][0]["reads"] == {"status": "active"}
    # the clause's label and the firm's values under their column labels (issue 15)
    assert answer["clauses"][0]["label"] == {"zh": "企业处于存续状态", "en": "The firm is active"}
    assert answer["clauses"][0]["values"] == [
        {
            "column": "status",
            "label": {"zh": "经营状态", "en": "Status"},
            "value": {"zh": "存续", "en": "active"},
            "raw": "active",
        }
    ]
    [premium] = answer["clauses"][3]["values"]
    assert premium["label"]["zh"] == "上年失业保险费"
    assert premium["value"]["zh"] == f"¥{Decimal(premium['raw']):,.2f}"

    refused = client.get(url.format(no["uscc"]), headers=officer).json()
    assert (refused["qualifies"], refused["amount"]) == (False, None)
    assert False in [c["value"] for c in refused["clauses"]]

    stranger = "91330106999999999X"
    assert_problem(client.get(url.format(stranger), headers=officer), 404, "unknown-firm")
    unknown = f"/api/v1/policies/nope/explain/{yes['uscc']}"
    assert_problem(client.get(unknown, headers=officer), 404, "unknown-policy")
    no_version = f"/api/v1/policies/{UI_ID}/explain/{yes['uscc']}?version=2"
    assert_problem(client.get(no_version, headers=officer), 404, "unknown-version")
    for role in (Role.FINANCE, Role.ENTERPRISE):
        assert_problem(client.get(url.format(yes["uscc"]), headers=bearer(role)), 403, "forbidden")


def test_preview_names_the_errors_the_rules_raise(
    client: TestClient, app_env: Engine, data_dir: Path, registry: None
) -> None:
    # The monthly refund divides by the premium: a firm without a premium is a division by zero.
    text = UI.replace("amount: ui_premium * refund_rate", "amount: 1000 / ui_premium * 12")
    text = text.replace("ui_premium > 0", "ui_premium >= 0")
    body = preview(client, save(client, text)).json()
    direct = direct_preview(app_env, data_dir, text)
    assert body["errors"] == direct.errors > 0
    examples = body["error_examples"]
    assert 0 < len(examples) <= 5
    assert [(e["uscc"], e["error"]) for e in examples] == direct.error_examples
    assert examples == sorted(examples, key=lambda e: e["uscc"])
    division = "amount: ArithmeticError: arithmetic error: division by zero"
    null = "eligibility: EvaluationError: data type mismatch"  # a null premium compared
    assert {e["error"] for e in examples} <= {division, null}
    assert division in {e["error"] for e in examples}
