"""Issue 13, finding "one officer alone can close every policy irreversibly": suspending and
closing are requested by one officer and confirmed by another person, through the API, the CLI
and the portal alike; the requester cannot confirm, under any role, and may withdraw.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from typer.testing import CliRunner

from policies import service as policy_service
from policies.document import load_path
from policies.models import Policy
from subsidy import db
from subsidy.audit.models import AuditEntry
from subsidy.auth import Role, mint
from subsidy.cli import app
from subsidy.settings import get_settings
from subsidy.web.session import COOKIE, csrf_token
from tests.apps import app_for_this_test

EXAMPLE = Path(__file__).parents[2] / "policies" / "examples" / "hz-2020-ui-refund.yaml"
POLICY = "hz-2020-ui-refund"


@pytest.fixture
def published(app_env: Engine) -> Engine:
    approved = policy_service.approve(load_path(EXAMPLE), "ui.yaml")
    with db.session_scope(app_env) as session:
        policy_service.publish(session, approved, by="officer:publisher")
    return app_env


@pytest.fixture
def client(published: Engine) -> Iterator[TestClient]:
    with TestClient(app_for_this_test(), base_url="http://testserver") as test_client:
        yield test_client


def state(engine: Engine) -> str:
    with Session(engine) as session:
        found = session.get(Policy, POLICY)
        assert found is not None
        return str(found.state)


def trail(engine: Engine) -> list[tuple[str, str]]:
    with Session(engine) as session:
        query = select(AuditEntry).where(col(AuditEntry.subject) == f"policy:{POLICY}")
        return [
            (e.action, e.actor)
            for e in session.execute(query.order_by(col(AuditEntry.id))).scalars()
        ]


def officer(subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint(get_settings(), Role.OFFICER, subject=subject)}"}


# --- the API ---------------------------------------------------------------------------------


def test_one_officer_cannot_close_or_suspend_through_the_api(
    client: TestClient, published: Engine
) -> None:
    alice = officer("alice")
    for verb in ("close", "suspend"):  # the one-person routes are gone
        assert client.post(f"/api/v1/policies/{POLICY}/{verb}", headers=alice).status_code in (
            404,
            405,
        )
    asked = client.post(
        f"/api/v1/policies/{POLICY}/close-requests", json={"reason": "ended"}, headers=alice
    )
    assert asked.status_code == 201, asked.text
    confirm = f"/api/v1/policy-action-requests/{asked.json()['id']}/confirm"
    refused = client.post(confirm, headers=alice)
    assert (refused.status_code, refused.json()["type"]) == (
        403,
        "urn:qinqing:problem:maker-checker",
    )
    assert state(published) == "published"

    listed = client.get("/api/v1/policy-action-requests", headers=officer("bob")).json()
    assert [(r["action"], r["requested_by"]) for r in listed] == [("close", "officer:alice")]
    done = client.post(confirm, headers=officer("bob"))
    assert done.status_code == 200, done.text
    assert state(published) == "closed"
    assert trail(published)[-2:] == [
        ("policy.close-requested", "officer:alice"),
        ("policy.closed", "officer:bob"),
    ]


def test_the_requester_withdraws_and_no_one_else_does(
    client: TestClient, published: Engine
) -> None:
    asked = client.post(
        f"/api/v1/policies/{POLICY}/suspend-requests", json={"reason": "r"}, headers=officer("a")
    ).json()
    withdraw = f"/api/v1/policy-action-requests/{asked['id']}/withdraw"
    assert client.post(withdraw, headers=officer("b")).status_code == 403
    assert client.post(withdraw, headers=officer("a")).json()["status"] == "withdrawn"
    late = client.post(
        f"/api/v1/policy-action-requests/{asked['id']}/confirm", headers=officer("b")
    )
    assert late.status_code == 409
    assert state(published) == "published"
    assert trail(published)[-1] == ("policy.suspend-withdrawn", "officer:a")


def test_the_same_person_under_another_role_cannot_confirm(published: Engine) -> None:
    # Imported here so that the module's other tests run (and fail) on the code before the fix.
    from policies import lifecycle
    from policies.errors import SameOfficerError
    from policies.models import PolicyAction

    with db.session_scope(published) as session:
        asked = lifecycle.request(
            session, POLICY, PolicyAction.CLOSE, reason="r", by="officer:alice"
        )
    assert asked.id is not None
    for disguise in ("auditor:alice", "finance:alice", "alice"):
        with pytest.raises(SameOfficerError), db.session_scope(published) as session:
            lifecycle.confirm(session, asked.id, by=disguise)
    assert state(published) == "published"


# --- the CLI ---------------------------------------------------------------------------------


def test_one_officer_cannot_close_or_suspend_through_the_cli(published: Engine) -> None:
    runner = CliRunner()
    for verb in ("close", "suspend"):
        assert runner.invoke(app, ["policy", verb, POLICY]).exit_code != 0
    asked = runner.invoke(
        app, ["policy", "request-close", POLICY, "--reason", "ended", "--by", "alice"]
    )
    assert asked.exit_code == 0, asked.output
    alone = runner.invoke(app, ["policy", "confirm", "1", "--by", "alice"])
    assert alone.exit_code == 1
    assert "another officer must confirm it" in alone.output
    assert state(published) == "published"
    done = runner.invoke(app, ["policy", "confirm", "1", "--by", "bob"])
    assert (done.exit_code, "is now closed" in done.output) == (0, True)
    assert trail(published)[-1] == ("policy.closed", "officer:bob")


# --- the portal ------------------------------------------------------------------------------


def test_one_officer_cannot_close_or_suspend_through_the_portal(
    client: TestClient, published: Engine
) -> None:
    csrf = sign_in_as(client, "alice")
    asked = client.post(
        f"/officer/policies/{POLICY}/close",
        data={"csrf": csrf, "reason": "政策到期"},
        follow_redirects=False,
    )
    assert asked.status_code == 303
    assert state(published) == "published"
    page = client.get("/officer/policies?lang=en").text
    assert "政策到期" in page
    assert "Yours: another officer confirms it" in page
    alone = client.post("/officer/policy-requests/1/confirm", data={"csrf": csrf})
    assert alone.status_code == 409
    assert state(published) == "published"

    csrf = sign_in_as(client, "bob")
    page = client.get("/officer/policies?lang=en").text
    assert 'action="/officer/policy-requests/1/confirm"' in page
    assert (
        client.post("/officer/policy-requests/1/withdraw", data={"csrf": csrf}).status_code == 409
    )
    done = client.post(
        "/officer/policy-requests/1/confirm", data={"csrf": csrf}, follow_redirects=False
    )
    assert done.status_code == 303
    assert state(published) == "closed"
    assert trail(published)[-2:] == [
        ("policy.close-requested", "officer:alice"),
        ("policy.closed", "officer:bob"),
    ]


def sign_in_as(client: TestClient, subject: str) -> str:
    client.cookies.clear()
    token = mint(get_settings(), Role.OFFICER, subject=subject)
    response = client.post("/sign-in", data={"token": token}, follow_redirects=False)
    assert response.status_code == 303
    return csrf_token(client.cookies[COOKIE])
