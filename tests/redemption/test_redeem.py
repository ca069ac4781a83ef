"""One-click redemption: re-checked, reserved, once only, replay-safe, and never over budget."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from policies.models import PolicyState
from subsidy import db
from subsidy.audit import service as audit
from subsidy.auth import Role, mint
from subsidy.redemption import errors
from subsidy.registry import demo
from subsidy.settings import get_settings
from tests.apps import app_for_this_test
from tests.policies.two_officers import change_state
from tests.redemption.helpers import (
    TODAY,
    flat,
    load_registry,
    publish,
    redeem,
    redemptions,
    reserved,
)


@pytest.fixture
def active(engine: Engine, data_dir: Path, tmp_path: Path) -> list[str]:
    return load_registry(engine, data_dir, tmp_path / "registry", 60)


def test_redeem_reserves_the_amount_once_and_replays(engine: Engine, active: list[str]) -> None:
    publish(engine, flat("flat-500", 500, 1_000_000))
    first = redeem(engine, active[0], "flat-500", "key-00000001")
    again = redeem(engine, active[0], "flat-500", "key-00000001")
    assert (first.created, again.created) == (True, False)
    assert again.redemption.id == first.redemption.id
    assert first.redemption.amount == Decimal("500.00")
    assert reserved(engine, "flat-500") == Decimal("500.00")
    with pytest.raises(errors.AlreadyRedeemed):
        redeem(engine, active[0], "flat-500", "key-00000002")
    publish(engine, flat("flat-600", 600, 1_000_000))
    with pytest.raises(errors.KeyReused):
        redeem(engine, active[0], "flat-600", "key-00000001")
    assert reserved(engine, "flat-500") == Decimal("500.00")
    assert redemptions(engine) == 1


def test_refusals_name_their_reason_and_reserve_nothing(
    engine: Engine, active: list[str], data_dir: Path
) -> None:
    publish(engine, flat("flat-700", 700, 1_000))
    publish(engine, flat("group-a", 100, 1_000_000, group="starter"))
    publish(engine, flat("group-b", 100, 1_000_000, group="starter"))
    publish(
        engine,
        flat("expired", 100, 1_000_000).model_copy(
            update={"valid_from": dt.date(2020, 1, 1), "valid_to": TODAY - dt.timedelta(days=1)}
        ),
    )
    redeem(engine, active[0], "flat-700", "k-first-firm")
    with pytest.raises(errors.BudgetExhausted):
        redeem(engine, active[1], "flat-700", "k-second-firm")
    assert reserved(engine, "flat-700") == Decimal("700.00")
    redeem(engine, active[0], "group-a", "k-group-a-0")
    with pytest.raises(errors.GroupConflict):
        redeem(engine, active[0], "group-b", "k-group-b-0")
    with pytest.raises(errors.NotRedeemable, match="not in force"):
        redeem(engine, active[0], "expired", "k-expired-0")
    with pytest.raises(errors.UnknownPolicy):
        redeem(engine, active[0], "no-such-policy", "k-unknown-0")
    with db.session_scope(engine) as session:
        change_state(session, "group-b", PolicyState.SUSPENDED)
    with pytest.raises(errors.NotRedeemable, match="suspended"):
        redeem(engine, active[1], "group-b", "k-suspended")
    assert reserved(engine, "group-b") == Decimal("0.00")
    assert redemptions(engine) == 2


def test_a_firm_that_no_longer_qualifies_is_refused_with_why(
    engine: Engine, data_dir: Path, tmp_path: Path
) -> None:
    frames = demo.generate(60, seed=11)
    inactive = frames[0].filter(frames[0]["status"] != "active")["uscc"][0]
    load_registry(engine, data_dir, tmp_path / "registry", 60)
    publish(engine, flat("flat-500", 500, 1_000_000))
    with pytest.raises(errors.NotEligible) as refused:
        redeem(engine, inactive, "flat-500", "k-inactive-0")
    assert refused.value.explanation[0]["text"] == "status == 'active'"
    assert refused.value.explanation[0]["value"] is False
    assert refused.value.explanation[0]["label"] is None  # the flat policy labels no clause


@pytest.fixture
def client(app_env: Engine) -> Iterator[TestClient]:
    with TestClient(app_for_this_test()) as test_client:
        yield test_client


def bearer(role: Role, uscc: str | None = None) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint(get_settings(), role, subject="t", uscc=uscc)}


def test_the_api_answers_as_the_issue_says(
    client: TestClient, app_env: Engine, data_dir: Path, tmp_path: Path
) -> None:
    firms = load_registry(app_env, data_dir, tmp_path / "registry", 60)
    publish(app_env, flat("flat-500", 500, 1_000_000))
    me, other = bearer(Role.ENTERPRISE, firms[0]), bearer(Role.ENTERPRISE, firms[1])
    key = {"Idempotency-Key": "0123456789abcdef"}
    created = client.post("/api/v1/redemptions", json={"policy_id": "flat-500"}, headers=me | key)
    assert created.status_code == 201, created.text
    replay = client.post("/api/v1/redemptions", json={"policy_id": "flat-500"}, headers=me | key)
    assert (replay.status_code, replay.json()) == (200, created.json())
    again = client.post(
        "/api/v1/redemptions",
        json={"policy_id": "flat-500"},
        headers=me | {"Idempotency-Key": "another-key-0001"},
    )
    assert (again.status_code, again.json()["type"]) == (
        409,
        "urn:qinqing:problem:already-redeemed",
    )
    unknown = client.post(
        "/api/v1/redemptions",
        json={"policy_id": "nope"},
        headers=other | {"Idempotency-Key": "k" * 10},
    )
    assert unknown.status_code == 404
    missing_key = client.post("/api/v1/redemptions", json={"policy_id": "flat-500"}, headers=other)
    assert missing_key.status_code == 422
    redemption_id = created.json()["id"]
    assert client.get(f"/api/v1/redemptions/{redemption_id}", headers=me).status_code == 200
    assert client.get(f"/api/v1/redemptions/{redemption_id}", headers=other).status_code == 404
    as_officer = client.get(f"/api/v1/redemptions/{redemption_id}", headers=bearer(Role.OFFICER))
    assert as_officer.status_code == 200
    mine = client.get("/api/v1/me/redemptions", headers=me).json()
    assert [r["id"] for r in mine] == [redemption_id]
    assert client.get("/api/v1/me/redemptions", headers=other).json() == []


@pytest.mark.postgres
def test_a_problem_body_carries_the_errors_code_and_its_words(
    client: TestClient, app_env: Engine, data_dir: Path, tmp_path: Path
) -> None:
    firms = load_registry(app_env, data_dir, tmp_path / "registry", 60)
    publish(app_env, flat("flat-500", 500, 1_000_000))
    me = bearer(Role.ENTERPRISE, firms[0])
    body = {"policy_id": "flat-500"}
    client.post("/api/v1/redemptions", json=body, headers=me | {"Idempotency-Key": "k" * 10})
    again = {"Idempotency-Key": "another-key-0001"}
    chinese = client.post("/api/v1/redemptions", json=body, headers=me | again)
    english = client.post(
        "/api/v1/redemptions",
        json=body,
        headers=me | again | {"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"},
    )
    for refused in (chinese, english):
        assert refused.status_code == 409
        problem = refused.json()
        assert problem["type"] == "urn:qinqing:problem:already-redeemed"
        assert problem["code"] == "redemption.already_redeemed"
        assert problem["detail"] == f"{firms[0]} has already redeemed flat-500"  # as before
    assert "已兑付过" in chinese.json()["message"]
    assert english.json()["message"] == english.json()["detail"]
    unknown = client.get("/api/v1/redemptions/999999", headers=me)
    assert (unknown.json()["code"], unknown.json()["message"]) == (
        "api.not_found.redemption",
        "没有兑付记录 999999",
    )
    assert unknown.json()["detail"] == "no redemption 999999"
    officer = client.get("/api/v1/me/redemptions", headers=bearer(Role.OFFICER))
    assert (officer.status_code, officer.json()["code"]) == (403, "api.forbidden.role")
    assert officer.json()["detail"] == "the officer role may not use this endpoint"
    assert "officer" not in officer.json()["message"]
    anonymous = client.get("/api/v1/me/redemptions", headers={"Accept-Language": "en"})
    assert anonymous.json()["code"] == "auth.missing"
    assert anonymous.json()["message"] == anonymous.json()["detail"]


def test_a_rush_never_overspends_nor_redeems_twice(
    pg_engine: Engine, data_dir: Path, tmp_path: Path
) -> None:
    firms = load_registry(pg_engine, data_dir, tmp_path / "registry", 1_100)[:1_000]
    assert len(firms) == 1_000
    publish(pg_engine, flat("rush", 1_000, 100_000))

    def attempt(args: tuple[str, str, str]) -> bool:
        uscc, policy_id, key = args
        try:
            redeem(pg_engine, uscc, policy_id, key)
        except errors.RedemptionError:
            return False
        return True

    with ThreadPoolExecutor(max_workers=16) as pool:
        won = sum(pool.map(attempt, [(u, "rush", f"key-{u}") for u in firms]))
    assert won == 100
    assert redemptions(pg_engine) == 100
    assert reserved(pg_engine, "rush") == Decimal("100000.00")

    publish(pg_engine, flat("once", 10, 1_000_000))
    with ThreadPoolExecutor(max_workers=16) as pool:
        won = sum(pool.map(attempt, [(firms[0], "once", f"k-{i:04d}-x") for i in range(50)]))
    assert won == 1
    assert redemptions(pg_engine) == 101
    assert reserved(pg_engine, "once") == Decimal("10.00")
    with Session(pg_engine) as session:  # concurrent appends never fork the audit chain
        verdict = audit.verify(session)
    assert verdict.reason is None
    assert verdict.entries == 2 + 101  # two publications, one entry per redemption


@pytest.mark.postgres
def test_a_rush_with_budget_enough_for_all_refuses_nobody(
    pg_engine: Engine, data_dir: Path, tmp_path: Path
) -> None:
    """Concurrency must not make a reservation fail that has room (no spurious 409s)."""
    firms = load_registry(pg_engine, data_dir, tmp_path / "registry", 1_100)
    publish(pg_engine, flat("plenty", 10, 10_000_000))

    def attempt(uscc: str) -> str:
        try:
            redeem(pg_engine, uscc, "plenty", f"key-{uscc}")
        except errors.RedemptionError as exc:
            return type(exc).__name__
        return "created"

    with ThreadPoolExecutor(max_workers=24) as pool:
        outcomes = Counter(pool.map(attempt, firms))
    assert outcomes == Counter({"created": len(firms)})
    assert reserved(pg_engine, "plenty") == Decimal(10 * len(firms))
    with Session(pg_engine) as session:
        assert audit.verify(session).reason is None


def test_a_refusals_clause_carries_its_label() -> None:
    from policies.document import ClauseLabel
    from policies.explain import ClauseResult
    from subsidy.redemption.service import _refused_clause

    label = ClauseLabel(zh="企业处于存续状态", en="The firm is active")
    clause = ClauseResult("status == 'active'", False, None, {}, label)
    assert _refused_clause(clause)["label"] == label.model_dump()


def test_a_reset_database_is_served_its_own_document(
    engine: Engine, another_engine: Engine, data_dir: Path, tmp_path: Path
) -> None:
    """Issue 17: the parsed document was kept by (policy, version, day), so after a reset or a
    restore under the same process, "version 1 of flat" meant the document parsed before, and
    the firm was granted the old amount. It is kept by the version's content hash now."""
    firm = load_registry(engine, data_dir, tmp_path / "one", 30)[0]
    again = load_registry(another_engine, tmp_path / "data-2", tmp_path / "two", 30)[0]
    assert firm == again  # the same registry (same seed) in both databases
    publish(engine, flat("flat", 500, 1_000_000))
    assert redeem(engine, firm, "flat", "key-00000001").redemption.amount == Decimal("500.00")
    publish(another_engine, flat("flat", 700, 1_000_000))
    granted = redeem(another_engine, firm, "flat", "key-00000001").redemption
    assert (granted.policy_version, granted.amount) == (1, Decimal("700.00"))
