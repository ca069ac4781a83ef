"""Portal fixtures: the world, the app on TestClient, sign-in cookies per role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from subsidy.auth import Role, mint
from subsidy.settings import get_settings
from tests.apps import app_for_this_test
from tests.portal.world import AS_OF, World, make_world
from tests.snapshots import Snapshots


@pytest.fixture
def portal_env(app_env: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The test database, with the business date the example policies are in force on."""
    monkeypatch.setenv("QINQING_TODAY", AS_OF.isoformat())
    get_settings.cache_clear()
    yield app_env
    get_settings.cache_clear()


@pytest.fixture
def world(portal_env: Engine, data_dir: Path, tmp_path: Path, worlds: Snapshots) -> World:
    return worlds.once("portal", lambda: make_world(portal_env, data_dir, tmp_path / "registry"))


@pytest.fixture
def client(portal_env: Engine) -> Iterator[TestClient]:
    with TestClient(app_for_this_test(), base_url="http://testserver") as test_client:
        yield test_client


def token_for(role: Role, uscc: str | None = None, subject: str | None = None) -> str:
    return mint(get_settings(), role, subject=subject or f"{role}-tester", uscc=uscc)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    """Keep the call's report on the test item, for the screenshot on failure."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.report_call = report  # type: ignore[attr-defined]
