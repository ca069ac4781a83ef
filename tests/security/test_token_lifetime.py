"""Token lifetimes were unbounded: a token whose `exp` lay 31 years ahead was accepted. Now a
token must carry `iat`, may not live longer than QINQING_TOKEN_MAX_HOURS (12 by default) and
carries a `jti`; `qinqing token --hours` mints none longer."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from subsidy.auth import ALGORITHM, AuthenticationError, Role, mint, verify
from subsidy.cli import app as cli
from subsidy.settings import get_settings


def signed(claims: dict[str, Any]) -> str:
    """A token with exactly these claims, signed with the real key (as its holder could)."""
    return jwt.encode(claims, get_settings().secret_key.get_secret_value(), algorithm=ALGORITHM)


def now() -> int:
    return int(dt.datetime.now(dt.UTC).timestamp())


def test_a_token_living_31_years_is_refused_by_verify_and_the_api(client: TestClient) -> None:
    forever = signed({"sub": "x", "role": "auditor", "iat": now(), "exp": now() + 31 * 365 * 86400})
    with pytest.raises(AuthenticationError, match="longer than the 12 allowed"):
        verify(get_settings(), forever)
    answer = client.get("/api/v1/policies", headers={"Authorization": f"Bearer {forever}"})
    assert answer.status_code == 401
    assert answer.json()["type"] == "urn:qinqing:problem:unauthenticated"


def test_a_token_without_iat_or_issued_in_the_future_is_refused(app_env: Engine) -> None:
    settings = get_settings()
    with pytest.raises(AuthenticationError, match="not valid"):
        verify(settings, signed({"sub": "x", "role": "auditor", "exp": now() + 3600}))
    later = now() + 30 * 365 * 86400  # iat and exp 12 h apart, but both decades ahead
    with pytest.raises(AuthenticationError, match="not valid"):
        verify(settings, signed({"sub": "x", "role": "auditor", "iat": later, "exp": later + 600}))


def test_the_maximum_is_a_setting_and_minted_tokens_carry_an_id(
    app_env: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = (mint(get_settings(), Role.OFFICER, subject="li") for _ in range(2))
    ids = {jwt.decode(t, options={"verify_signature": False})["jti"] for t in (first, second)}
    assert len(ids) == 2
    twelve = mint(get_settings(), Role.OFFICER, subject="li", lifetime=dt.timedelta(hours=12))
    assert verify(get_settings(), twelve).subject == "li"

    monkeypatch.setenv("QINQING_TOKEN_MAX_HOURS", "1")
    get_settings.cache_clear()
    with pytest.raises(AuthenticationError, match="longer than the 1 allowed"):
        verify(get_settings(), twelve)
    with pytest.raises(ValueError, match="at most 1 hours"):
        mint(get_settings(), Role.OFFICER, subject="li", lifetime=dt.timedelta(hours=2))
    short = mint(get_settings(), Role.OFFICER, subject="li")  # the default fits the maximum
    assert verify(get_settings(), short).subject == "li"


def test_qinqing_token_refuses_more_hours_than_the_maximum(app_env: Engine) -> None:
    result = CliRunner().invoke(cli, ["token", "--role", "officer", "--hours", "13"])
    assert result.exit_code == 2
    assert "at most 12 hours" in result.output
    fine = CliRunner().invoke(cli, ["token", "--role", "officer", "--hours", "12"])
    assert fine.exit_code == 0, fine.output
    assert verify(get_settings(), fine.output.strip()).role is Role.OFFICER
