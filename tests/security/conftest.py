"""Security fixtures: the app on TestClient over a migrated test database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from subsidy.app import create_app


@pytest.fixture
def client(app_env: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(), base_url="http://testserver") as test_client:
        yield test_client
