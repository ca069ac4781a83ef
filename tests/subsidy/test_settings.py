"""Settings: safe defaults for development, refusals for production."""

from __future__ import annotations

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
    Settings(environment=environment, secret_key=SecretStr("a real secret"))
    Settings(environment="development", secret_key=SecretStr(DEVELOPMENT_SECRET))


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
