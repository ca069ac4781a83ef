"""`qinqing serve` behind a TLS reverse proxy: the proxy headers and the proxies trusted for them
reach uvicorn as docs/PRODUCTION.md says."""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine

from tests.commands import qinqing
from tests.commands import wide_terminal as wide_terminal


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options, app=app))
    return seen


def test_proxy_headers_from_the_local_proxy_by_default(
    app_env: Engine, served: dict[str, Any]
) -> None:
    code, output = qinqing("serve", "--workers", 2)
    assert code == 0, output
    assert served["app"] == "subsidy.app:create_app"
    assert served["workers"] == 2
    assert served["proxy_headers"] is True
    assert served["forwarded_allow_ips"] is None  # uvicorn: FORWARDED_ALLOW_IPS, else loopback


def test_the_trusted_proxies_are_named(app_env: Engine, served: dict[str, Any]) -> None:
    code, output = qinqing("serve", "--forwarded-allow-ips", "10.0.0.5,10.0.0.6")
    assert code == 0, output
    assert served["forwarded_allow_ips"] == "10.0.0.5,10.0.0.6"
    code, output = qinqing("serve", "--no-proxy-headers")
    assert code == 0, output
    assert served["proxy_headers"] is False
