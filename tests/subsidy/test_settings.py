"""Settings: safe defaults for development, refusals for production."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import SecretStr

from subsidy.errors import ConfigurationError
from subsidy.settings import DEVELOPMENT_SECRET, Settings


def test_defaults_need_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("QINQING_DATABASE_URL", "QINQING_BROKER_URL", "QINQING_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.sqlalchemy_url == "sqlite:///qinqing.db"
    assert settings.broker_url == ""


@pytest.mark.parametrize("environment", ["test", "production"])
def test_outside_development_the_development_secret_is_refused(environment: str) -> None:
    with pytest.raises(ConfigurationError, match="QINQING_SECRET_KEY"):
        Settings(environment=environment, secret_key=SecretStr(DEVELOPMENT_SECRET))
    real = SecretStr("a real secret of at least 32 bytes")
    Settings(environment=environment, secret_key=real, bank_url=REAL_BANK, audit_key=AUDIT_KEY)
    Settings(environment="development", secret_key=SecretStr(DEVELOPMENT_SECRET))


REAL_BANK = "files:///srv/bank-exchange"
AUDIT_KEY = SecretStr("an audit key of thirty-two bytes")


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"today": dt.date(2020, 6, 30)}, "QINQING_TODAY"),
        ({"bank_url": ""}, "QINQING_BANK_URL"),
        ({"bank_url": "simulated:///srv/bank.db"}, "QINQING_BANK_URL"),
    ],
)
def test_production_refuses_a_fixed_date_and_a_simulated_bank(
    changes: dict[str, object], named: str
) -> None:
    secret = SecretStr("s3cret-of-at-least-thirty-two-bytes")
    real = {
        "environment": "production",
        "secret_key": secret,
        "bank_url": REAL_BANK,
        "audit_key": AUDIT_KEY,
    }
    Settings(**real)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=named):
        Settings(**(real | changes))  # type: ignore[arg-type]
    Settings(**(real | changes | {"environment": "test"}))  # type: ignore[arg-type]


def test_the_secret_never_shows_in_a_repr() -> None:
    settings = Settings(secret_key=SecretStr("hunter2-and-more"))
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.model_dump())


@pytest.mark.parametrize(
    "url",
    ["postgresql://u@h:5432/db", "postgres://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"],
)
def test_postgresql_urls_use_psycopg_3(url: str) -> None:
    assert Settings(database_url=url).sqlalchemy_url == "postgresql+psycopg://u@h:5432/db"
