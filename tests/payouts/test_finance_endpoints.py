"""The finance and officer endpoints: who may do what, problems with stable types, accounts
masked."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine

from payouts import reconcile
from payouts.statement import StatementLine, write_statement
from subsidy import db
from subsidy.auth import Role, mint
from subsidy.redemption.models import Redemption
from subsidy.settings import get_settings
from tests.apps import app_for_this_test
from tests.payouts.payments import (
    REGISTRY_ACCOUNT,
    REVIEW,
    World,
    make_world,
    paid,
    paying,
    returned,
)
from tests.redemption.helpers import TODAY
from tests.snapshots import Snapshots

NEW_ACCOUNT = "6217001234567890123"


@pytest.fixture
def world(app_env: Engine, data_dir: Path, tmp_path: Path, worlds: Snapshots) -> World:
    return worlds.once("payments", lambda: make_world(app_env, data_dir, tmp_path / "registry"))


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(app_for_this_test()) as test_client:
        yield test_client


def as_(role: Role, subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint(get_settings(), role, subject=subject)}"}


def officer(subject: str = "li.wei") -> dict[str, str]:
    return as_(Role.OFFICER, subject)


def finance(subject: str = "wang.fang") -> dict[str, str]:
    return as_(Role.FINANCE, subject)


def auditor() -> dict[str, str]:
    return as_(Role.AUDITOR, "audit.office")


def problem(response: Response, status: int, slug: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["type"] == f"urn:qinqing:problem:{slug}"
    return body


def test_an_officer_finds_and_approves_held_redemptions(client: TestClient, world: World) -> None:
    held = world.redeem(0, REVIEW)
    world.redeem(1)
    listed = client.get("/api/v1/redemptions", params={"status": "held"}, headers=officer())
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()] == [held]
    assert listed.json()[0]["changed_by"] == f"enterprise:{world.firms[0]}"
    answer = client.post(f"/api/v1/redemptions/{held}/approve", headers=officer())
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "approved"
    problem(
        client.post(f"/api/v1/redemptions/{held}/approve", headers=officer("zhao.min")),
        409,
        "redemption-state",
    )
    problem(client.post("/api/v1/redemptions/4040/approve", headers=officer()), 404, "not-found")
    problem(client.post(f"/api/v1/redemptions/{held}/approve", headers=auditor()), 403, "forbidden")


def test_maker_checker_is_its_own_problem(client: TestClient, world: World) -> None:
    held = world.redeem(0, REVIEW)
    with db.session_scope(world.engine) as session:
        found = session.get(Redemption, held)
        assert found is not None
        found.changed_by = "finance:li.wei"
    body = problem(
        client.post(f"/api/v1/redemptions/{held}/approve", headers=officer("li.wei")),
        403,
        "maker-checker",
    )
    assert "another person must approve" in str(body["detail"])
    assert client.post(
        f"/api/v1/redemptions/{held}/approve", headers=officer("zhao.min")
    ).is_success


def test_reversal_over_http(client: TestClient, world: World) -> None:
    done, in_flight = world.redeem(0), world.redeem(1)
    paid(world.engine, done)
    paying(world.engine, in_flight)
    problem(
        client.post(f"/api/v1/redemptions/{done}/reverse", json={}, headers=officer()),
        422,
        "invalid-request",
    )
    problem(
        client.post(f"/api/v1/redemptions/{done}/reverse", json={"reason": " "}, headers=officer()),
        422,
        "invalid-input",
    )
    body = problem(
        client.post(
            f"/api/v1/redemptions/{in_flight}/reverse", json={"reason": "x"}, headers=officer()
        ),
        409,
        "payment-in-flight",
    )
    assert "wait for the batch to settle" in str(body["detail"])
    answer = client.post(
        f"/api/v1/redemptions/{done}/reverse", json={"reason": "fraud"}, headers=officer()
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() | {"redemption": None} == {
        "redemption": None,
        "moved_from": "paid",
        "moved_to": "receivable",
        "amount": "1000.00",
        "clawback": True,
    }
    assert answer.json()["redemption"]["status"] == "reversed"
    problem(
        client.post(f"/api/v1/redemptions/{done}/reverse", json={"reason": "x"}, headers=officer()),
        409,
        "already-reversed",
    )
    problem(
        client.post(f"/api/v1/redemptions/{done}/reverse", json={"reason": "x"}, headers=finance()),
        403,
        "forbidden",
    )


def test_correct_then_release_by_another_finance_user(client: TestClient, world: World) -> None:
    redemption = world.redeem(0)
    returned(world.engine, redemption)
    url = f"/api/v1/redemptions/{redemption}"
    problem(
        client.post(f"{url}/release", headers=finance("zhao.min")), 409, "account-not-corrected"
    )
    problem(
        client.put(f"{url}/account", json={"account": "not-an-account"}, headers=finance()),
        422,
        "invalid-input",
    )
    corrected = client.put(f"{url}/account", json={"account": NEW_ACCOUNT}, headers=finance())
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["account_override"] == "*" * 15 + "0123"
    assert corrected.json()["changed_by"] == "finance:wang.fang"
    assert NEW_ACCOUNT not in corrected.text
    problem(client.post(f"{url}/release", headers=finance()), 403, "maker-checker")
    problem(client.post(f"{url}/release", headers=officer("zhao.min")), 403, "forbidden")
    released = client.post(f"{url}/release", headers=finance("zhao.min"))
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "approved"
    problem(client.post(f"{url}/release", headers=finance("zhao.min")), 409, "redemption-state")


def test_firm_flags_over_http(client: TestClient, world: World) -> None:
    firm = world.firms[3]
    url = f"/api/v1/firm-flags/{firm}"
    flagged = client.put(url, json={"reason": "tip-off"}, headers=officer())
    assert flagged.status_code == 200, flagged.text
    assert flagged.json() | {"flagged_at": None} == {
        "uscc": firm,
        "reason": "tip-off",
        "flagged_by": "officer:li.wei",
        "flagged_at": None,
    }
    assert world.get(world.redeem(3)).status == "held"
    for reader in (officer("zhao.min"), auditor()):
        assert [f["uscc"] for f in client.get("/api/v1/firm-flags", headers=reader).json()] == [
            firm
        ]
    problem(client.get("/api/v1/firm-flags", headers=finance()), 403, "forbidden")
    assert client.delete(url, headers=officer()).status_code == 204
    problem(client.delete(url, headers=officer()), 404, "not-found")
    problem(
        client.put("/api/v1/firm-flags/123", json={"reason": "x"}, headers=officer()),
        422,
        "invalid-input",
    )


def test_batches_and_items_with_counts_and_masked_accounts(
    client: TestClient, world: World
) -> None:
    first = paid(world.engine, world.redeem(0))
    paid(world.engine, world.redeem(1), offset=Decimal("100.00"))
    returned(world.engine, world.redeem(2))
    paying(world.engine, world.redeem(3))
    for reader in (finance(), auditor()):
        listed = client.get("/api/v1/payout-batches", headers=reader)
        assert listed.status_code == 200, listed.text
        batches = listed.json()
        assert [b["id"] for b in batches] == [4, 3, 2, 1]  # newest first
    assert batches[-1]["ref"] == "QQ-B00000001"
    assert batches[-1]["by_state"] == {"paid": {"items": 1, "net": "1000.00"}}
    assert batches[-2]["by_state"] == {"paid": {"items": 1, "net": "900.00"}}
    assert batches[0]["by_state"] == {"submitted": {"items": 1, "net": "1000.00"}}
    page = client.get("/api/v1/payout-batches", params={"before": 3, "limit": 1}, headers=finance())
    assert [b["id"] for b in page.json()] == [2]
    items = client.get(f"/api/v1/payout-batches/{first.batch_id}/items", headers=finance())
    assert items.status_code == 200, items.text
    (item,) = items.json()
    assert item["account"] == "*" * 15 + REGISTRY_ACCOUNT[-4:]
    assert item["idempotency_key"] == first.idempotency_key
    assert REGISTRY_ACCOUNT not in items.text
    none = client.get(
        f"/api/v1/payout-batches/{first.batch_id}/items",
        params={"state": "returned"},
        headers=finance(),
    )
    assert none.json() == []
    problem(client.get("/api/v1/payout-batches/99/items", headers=finance()), 404, "not-found")
    problem(client.get("/api/v1/payout-batches", headers=officer()), 403, "forbidden")
    bad = client.get(
        f"/api/v1/payout-batches/{first.batch_id}/items",
        params={"state": "lost"},
        headers=finance(),
    )
    problem(bad, 422, "invalid-request")


def test_exceptions_listed_and_resolved_once(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    item = paid(world.engine, world.redeem(0))
    path = tmp_path / "statement.csv"
    stranger = StatementLine(TODAY, "STRANGER", None, "payment", Decimal("12.00"))
    write_statement(path, [stranger])
    with db.session_scope(world.engine) as session:
        reconcile.reconcile(session, path, by="finance:wang.fang")
    listed = client.get(
        "/api/v1/reconciliation-exceptions", params={"resolved": False}, headers=auditor()
    )
    assert listed.status_code == 200
    kinds = {e["kind"]: e for e in listed.json()}
    assert set(kinds) == {"unmatched", "not_on_statement"}
    assert kinds["not_on_statement"]["payout_item_id"] == item.id
    url = f"/api/v1/reconciliation-exceptions/{kinds['unmatched']['id']}/resolve"
    problem(client.post(url, json={"note": "x"}, headers=auditor()), 403, "forbidden")
    resolved = client.post(url, json={"note": "bank's own fee"}, headers=finance())
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["resolved_by"] == "finance:wang.fang"
    problem(
        client.post(url, json={"note": "again"}, headers=finance("zhao.min")),
        409,
        "already-resolved",
    )
    still = client.get(
        "/api/v1/reconciliation-exceptions", params={"resolved": False}, headers=finance()
    )
    assert [e["kind"] for e in still.json()] == ["not_on_statement"]


def test_the_ledger_check_over_http(client: TestClient, world: World) -> None:
    paid(world.engine, world.redeem(0))
    answer = client.get("/api/v1/ledger/check", headers=auditor())
    assert answer.status_code == 200, answer.text
    assert answer.json() | {"entries": 0} == {
        "balanced": True,
        "entries": 0,
        "policies": 1,
        "firms": 0,
        "imbalances": [],
        "unshown_redemptions": 0,
    }
    problem(client.get("/api/v1/ledger/check", headers=officer()), 403, "forbidden")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/payout-batches"),
        ("GET", "/api/v1/redemptions"),
        ("POST", "/api/v1/redemptions/1/approve"),
        ("PUT", "/api/v1/redemptions/1/account"),
        ("GET", "/api/v1/firm-flags"),
        ("GET", "/api/v1/reconciliation-exceptions"),
        ("GET", "/api/v1/ledger/check"),
    ],
)
def test_an_enterprise_sees_nothing_here(
    client: TestClient, world: World, method: str, path: str
) -> None:
    token = mint(get_settings(), Role.ENTERPRISE, subject="firm", uscc=world.firms[0])
    answer = client.request(method, path, headers={"Authorization": f"Bearer {token}"})
    problem(answer, 403, "forbidden")
