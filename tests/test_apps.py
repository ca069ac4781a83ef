"""The app the `client` fixtures share (`tests.apps`) keeps nothing of one test for the next."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from subsidy import db
from subsidy.api.admission import Admission
from subsidy.auth import Role, mint
from subsidy.registry import demo
from subsidy.settings import get_settings
from tests.apps import app_for_this_test

FIRM = demo.generate(1, seed=3)[0]["uscc"].to_list()[0]
UI = (Path(__file__).parents[1] / "policies/examples/hz-2020-ui-refund.yaml").read_text("utf-8")


def bearer(role: Role, uscc: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint(get_settings(), role, subject='tester', uscc=uscc)}"}


def redeem(client: TestClient) -> int:
    answer = client.post(
        "/api/v1/redemptions",
        json={"policy_id": "none"},
        headers=bearer(Role.ENTERPRISE, FIRM) | {"Idempotency-Key": "key-of-the-test"},
    )
    status: int = answer.status_code
    return status


def admission(client: TestClient) -> Admission:
    layer = client.app.middleware_stack  # type: ignore[attr-defined]
    while not isinstance(layer, Admission):
        layer = layer.app
    return layer


def test_a_limit_spent_in_one_test_is_full_in_the_next(
    app_env: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QINQING_BROKER_URL", "")  # the app's own buckets, not Redis's
    monkeypatch.setenv("QINQING_RATE_LIMIT_REDEEM", "1/minute")
    get_settings.cache_clear()
    with TestClient(app_for_this_test()) as first:
        assert [redeem(first), redeem(first)] == [404, 429]  # no such policy, then too many
        first_admission = admission(first)
    with TestClient(app_for_this_test()) as following:  # as the next test gets it
        assert following.app is first.app
        assert redeem(following) == 404
        assert admission(following) is not first_admission  # its semaphore: the old loop's


def test_each_test_is_answered_from_its_own_database(
    app_env: Engine, another_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    officer = bearer(Role.OFFICER) | {"Content-Type": "application/yaml"}
    with TestClient(app_for_this_test()) as first:
        assert first.post("/api/v1/policy-drafts", content=UI, headers=officer).status_code == 201
        assert len(first.get("/api/v1/policy-drafts", headers=officer).json()) == 1
    url = another_engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("QINQING_DATABASE_URL", url)
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    with TestClient(app_for_this_test()) as following:
        assert following.app is first.app
        assert following.get("/api/v1/policy-drafts", headers=officer).json() == []


def test_settings_that_shape_the_app_give_an_app_of_their_own(
    app_env: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_docs = app_for_this_test()
    monkeypatch.setenv("QINQING_API_DOCS", "false")
    get_settings.cache_clear()
    without_docs = app_for_this_test()
    assert without_docs is not with_docs
    with TestClient(without_docs) as client:
        assert client.get("/openapi.json").status_code == 404
    monkeypatch.delenv("QINQING_API_DOCS")
    get_settings.cache_clear()
    assert app_for_this_test() is with_docs
    with TestClient(with_docs) as client:
        assert client.get("/openapi.json").status_code == 200
