"""Fixtures of the security tests: the app on the test database, tokens of every role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from subsidy.auth import Role, mint
from subsidy.settings import get_settings
from tests.apps import app_for_this_test
from tests.subsidy.factories import make_uscc


@pytest.fixture
def client(app_env: Engine) -> Iterator[TestClient]:
    with TestClient(
        app_for_this_test(), base_url="http://testserver", raise_server_exceptions=False
    ) as test_client:
        yield test_client


def bearer(role: Role, uscc: str | None = None) -> dict[str, str]:
    if role is Role.ENTERPRISE and uscc is None:
        uscc = make_uscc(1)
    minted = mint(get_settings(), role, subject=f"{role}-tester", uscc=uscc)
    return {"Authorization": f"Bearer {minted}"}
