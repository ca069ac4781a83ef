"""Finding: a rule with a backtracking regex froze the whole server process on a firm's page, a
redemption or an explanation (Python's `re` holds the GIL; SIGTERM did not stop it). Validation
now refuses such patterns, but a rule that slips past it (here: one published without
validation, as an older release could have) must still cost a request at most the deadline:
each per-firm evaluation runs in an evaluator process that is killed when it outlives it.

The server runs as `qinqing serve` in its own process, so on a build without the time-box the
requests time out here instead of freezing the test run."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from subsidy import deadline
from subsidy.auth import Principal, Role, mint
from subsidy.settings import Settings
from subsidy.signin import service as signin
from tests.portal.world import AS_OF, World, make_world
from tests.security._policies import TECH_ID, published_unchecked, unchecked
from tests.serving import SECRET, serving

DEADLINE = 1.0
MARGIN = 20.0
"""Generous: a page explains thirteen policies on a machine other tests load too."""
SLOW = "(name + name + name) =~ '(.*.*.*)*Q' and status == 'active'"
"""Days per firm in Python's `re`, whatever its name. The time grows about five-fold a character:
on the name alone a 10-character firm name (the world's firm has one) took 0.75-0.92 s on the
development machine, so on a quiet moment it finished within the 1 s deadline and the page showed
no error (the flaky run); three times the name is 30 characters, never within any deadline."""


@pytest.fixture(params=["default", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Engine:
    """The suite's database, and PostgreSQL, where a frozen request left a session idle in
    transaction."""
    return request.getfixturevalue("pg_engine" if request.param == "postgres" else "engine")  # type: ignore[no-any-return]


@pytest.fixture
def world(database: Engine, data_dir: Path, tmp_path: Path) -> World:
    made = make_world(database, data_dir, tmp_path / "registry")
    published_unchecked(database, unchecked(TECH_ID, SLOW))
    return made


@pytest.fixture
def server(database: Engine, data_dir: Path, world: World) -> Iterator[str]:
    timeboxed = {"today": AS_OF.isoformat(), "rule_deadline_seconds": str(DEADLINE)}
    with serving(database, data_dir, workers=1, **timeboxed) as base:
        yield base


def _timed(request: httpx.Request, client: httpx.Client) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = client.send(request)
    return answer, time.monotonic() - started


def _idle_in_transaction(database: Engine) -> int:
    if database.dialect.name != "postgresql":
        return 0
    with database.connect() as connection:
        found = connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
            )
        )
        return int(found.scalar_one())


def _portal_session(database: Engine, settings: Settings, uscc: str) -> str:
    """A signed-in firm's cookie value: a session opened as a sign-in link would open it."""
    firm = Principal(subject="timebox", role=Role.ENTERPRISE, uscc=uscc)
    with Session(database) as session:
        opened = signin.open_session(session, settings, firm, method="code")
        session.commit()
    return opened.session_id


def test_a_runaway_rule_costs_a_request_the_deadline_and_the_next_is_served(
    server: str, world: World, database: Engine
) -> None:
    settings = Settings(secret_key=SECRET)
    firm = mint(settings, Role.ENTERPRISE, subject="timebox", uscc=world.firm)
    officer = {"Authorization": f"Bearer {mint(settings, Role.OFFICER, subject='timebox')}"}
    with httpx.Client(base_url=server, timeout=DEADLINE + MARGIN + 10) as client:
        client.cookies.set("qinqing_session", _portal_session(database, settings, world.firm))
        page = client.build_request("GET", "/firm")
        for _ in range(2):  # the next view is served as well
            answer, took = _timed(page, client)
            assert answer.status_code == 200
            assert took < DEADLINE + MARGIN
            assert f"policy {TECH_ID} could not be evaluated" in answer.text

        explain = client.build_request(
            "GET", f"/api/v1/policies/{TECH_ID}/explain/{world.firm}", headers=officer
        )
        answer, took = _timed(explain, client)
        assert answer.status_code == 200
        assert took < DEADLINE + MARGIN
        assert answer.json()["qualifies"] is False
        assert "ran longer than 1 s" in answer.json()["error"]

        redeem = client.build_request(
            "POST",
            "/api/v1/redemptions",
            json={"policy_id": TECH_ID},
            headers={"Authorization": f"Bearer {firm}", "Idempotency-Key": "timebox-1"},
        )
        answer, took = _timed(redeem, client)
        assert answer.status_code == 422
        assert took < DEADLINE + MARGIN
        assert "QINQING_RULE_DEADLINE_SECONDS" in answer.text

        healthy = client.build_request(
            "GET", f"/api/v1/policies/{world.policy_id}/explain/{world.firm}", headers=officer
        )
        answer, took = _timed(healthy, client)
        assert _idle_in_transaction(database) == 0
        assert answer.status_code == 200
        assert answer.json()["error"] is None
        assert took < MARGIN


def backtrack(text: str) -> bool:
    """Holds the GIL for hours: no thread or signal in its process could stop it."""
    return re.match(r"(.*.*.*)*Q", text) is not None


def test_the_pool_kills_a_call_past_its_deadline_and_serves_the_next() -> None:
    pool = deadline.Pool(1)
    try:
        started = time.monotonic()
        with pytest.raises(deadline.DeadlineExceeded):
            pool.run(backtrack, ("a" * 40,), 0.5)
        assert time.monotonic() - started < 0.5 + MARGIN
        assert pool.run(backtrack, ("aQ",), 30) is True  # a fresh evaluator answers
        assert pool.run(os.getpid, (), 30) == pool.run(os.getpid, (), 30)  # and is reused
        assert pool.run(os.getpid, (), 30) != os.getpid()
    finally:
        pool.close()
