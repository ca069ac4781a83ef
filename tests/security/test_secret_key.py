"""Production accepted a 1-byte secret key: HS256 tokens signed with it can be forged offline.
Outside development a key shorter than 32 bytes is refused, with the way to make one."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import SecretStr

from subsidy.errors import ConfigurationError
from subsidy.settings import Settings


def settings(environment: Literal["development", "test", "production"], key: str) -> Settings:
    return Settings(
        environment=environment,
        bank_url="files:/srv/bank",
        secret_key=SecretStr(key),
        audit_key=SecretStr("an-audit-key-of-at-least-32-bytes-0123"),
    )


@pytest.mark.parametrize("key", ["x", "k" * 31, "密" * 10])  # 30 bytes in UTF-8
@pytest.mark.parametrize("environment", ["production", "test"])
def test_a_short_secret_is_refused_outside_development(
    environment: Literal["test", "production"], key: str
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        settings(environment, key)
    message = str(refused.value)
    assert "QINQING_SECRET_KEY is shorter than 32 bytes" in message
    assert "secrets.token_urlsafe(32)" in message
    assert key not in message  # the secret itself is never shown


def test_a_secret_of_32_bytes_is_accepted_and_development_takes_any() -> None:
    assert settings("production", "k" * 32).environment == "production"
    assert settings("development", "x").secret_key.get_secret_value() == "x"
