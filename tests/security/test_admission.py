"""Admission control and the pool's checkout timeout answer 503 with Retry-After, never 500
(issue 13, Critical: a burst left requests unanswered or answered 500)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from functools import lru_cache

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.types import Receive, Scope, Send

from subsidy import db
from subsidy.api.admission import Admission
from subsidy.app import create_app
from subsidy.auth import Role, mint
from subsidy.registry import demo
from subsidy.settings import get_settings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the middleware's semaphore is asyncio's, as under uvicorn


class Held:
    """An ASGI app whose requests all wait until `release` (or answer at once for /healthz)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] != "/healthz":
            self.entered.set()
            await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.anyio
async def test_a_request_beyond_the_limit_waits_then_gets_503_with_retry_after() -> None:
    held = Held()
    app = Admission(held, limit=1, wait=0.05, retry_after=7)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        first = asyncio.create_task(client.get("/api/v1/me/redemptions"))
        await held.entered.wait()
        refused = await client.get("/api/v1/me/redemptions")
        health = await client.get("/healthz")  # never queued: it answers while full
        static = asyncio.create_task(client.get("/static/portal.css"))
        await asyncio.sleep(0.1)
        assert not static.done()  # reaches the app (which holds it), is not refused
        held.release.set()
        assert (await first).status_code == 200
        assert (await static).status_code == 200
        after = await client.get("/api/v1/me/redemptions")  # the slot was given back
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "7"
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:qinqing:problem:overloaded"
    assert health.status_code == 200
    assert after.status_code == 200


@pytest.mark.anyio
async def test_a_request_that_waits_less_than_the_bound_is_served() -> None:
    held = Held()
    app = Admission(held, limit=1, wait=5, retry_after=7)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        first = asyncio.create_task(client.get("/a"))
        await held.entered.wait()
        second = asyncio.create_task(client.get("/b"))
        await asyncio.sleep(0.05)
        held.release.set()
        assert [(await first).status_code, (await second).status_code] == [200, 200]


def test_the_app_admits_max_in_flight_with_threads_and_connections_to_match(
    app_env: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QINQING_MAX_IN_FLIGHT", "3")
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    app = create_app()
    admission = [m for m in app.user_middleware if m.cls is Admission]  # type: ignore[comparison-overlap]
    assert [m.kwargs["limit"] for m in admission] == [3]
    assert db.get_engine().pool.size() == get_settings().threads == 3 + 8  # type: ignore[attr-defined]
    db.get_engine.cache_clear()


@pytest.fixture
def one_connection(app_env: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The app's engine with a pool of one connection that a checkout waits 0.1 s for."""
    url = app_env.url.render_as_string(hide_password=False)
    engine = db.make_engine(url, connections=1, wait=0.1)
    monkeypatch.setattr(db, "get_engine", lru_cache(lambda: engine))  # app_env clears it
    yield engine
    engine.dispose()


def test_no_connection_in_time_is_503_with_retry_after_not_500(one_connection: Engine) -> None:
    uscc = str(demo.generate(1, seed=3)[0]["uscc"][0])
    token = mint(get_settings(), Role.ENTERPRISE, subject="t", uscc=uscc)
    with one_connection.connect(), TestClient(create_app()) as client:  # the only connection
        answer = client.get("/api/v1/me/redemptions", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == str(get_settings().overload_retry_after_seconds)
    assert answer.json()["type"] == "urn:qinqing:problem:overloaded"
