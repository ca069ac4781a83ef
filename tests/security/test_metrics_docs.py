"""/metrics and /docs were open in production. Now /metrics answers only a bearer token
(QINQING_METRICS_TOKEN) or a listed client address (QINQING_METRICS_CLIENTS), and is a 404 in
production when neither is set; /docs, /redoc and /openapi.json follow QINQING_API_DOCS (on in
development, off in production)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from subsidy.app import create_app
from subsidy.settings import get_settings

DOCS = ("/docs", "/redoc", "/openapi.json")


@pytest.fixture
def production(app_env: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("QINQING_ENVIRONMENT", "production")
    monkeypatch.setenv("QINQING_SECRET_KEY", "a-production-secret-of-more-than-32-bytes")
    monkeypatch.setenv("QINQING_BANK_URL", "files:/srv/bank")
    monkeypatch.setenv("QINQING_AUDIT_KEY", "a-production-audit-key-of-more-than-32-bytes")
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def client(host: str = "testclient") -> TestClient:
    get_settings.cache_clear()
    return TestClient(create_app(), client=(host, 50000))


def test_in_production_metrics_and_docs_are_not_there(production: pytest.MonkeyPatch) -> None:
    production.setenv("QINQING_METRICS_TOKEN", "")  # set but empty: no token at all
    with client("127.0.0.1") as anonymous:
        assert anonymous.get("/metrics").status_code == 404
        assert anonymous.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
        for path in DOCS:
            assert anonymous.get(path).status_code == 404, path
        assert anonymous.get("/healthz").status_code == 200


def test_metrics_open_to_the_token(production: pytest.MonkeyPatch) -> None:
    production.setenv("QINQING_METRICS_TOKEN", "scrape-me-0123456789")
    with client() as scraper:
        assert scraper.get("/metrics").status_code == 404
        wrong = {"Authorization": "Bearer scrape-me-wrong"}
        assert scraper.get("/metrics", headers=wrong).status_code == 404
        right = {"Authorization": "Bearer scrape-me-0123456789"}
        answer = scraper.get("/metrics", headers=right)
        assert answer.status_code == 200
        assert "python_info" in answer.text


def test_metrics_open_to_listed_addresses(production: pytest.MonkeyPatch) -> None:
    production.setenv("QINQING_METRICS_CLIENTS", "127.0.0.1, 10.0.0.0/8")
    for host, status in (("127.0.0.1", 200), ("10.2.3.4", 200), ("203.0.113.9", 404)):
        with client(host) as caller:
            assert caller.get("/metrics").status_code == status, host


def test_docs_are_a_setting(production: pytest.MonkeyPatch) -> None:
    production.setenv("QINQING_API_DOCS", "true")
    with client() as caller:
        for path in DOCS:
            assert caller.get(path).status_code == 200, path


def test_in_development_both_stay_open(app_env: Engine) -> None:
    with client() as caller:
        assert caller.get("/metrics").status_code == 200
        assert caller.get("/docs").status_code == 200
