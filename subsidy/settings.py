"""Settings from the environment (prefix `QINQING_`) or a `.env` file.

The embedded default needs nothing: a SQLite file and a data directory in the working directory,
and no broker (tasks run in-process). Production sets `QINQING_ENVIRONMENT=production`, a database
URL, a broker URL and a secret key; any environment but development refuses to start with the
development secret.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from subsidy.errors import ConfigurationError

DEVELOPMENT_SECRET = "qinqing-development-secret-do-not-use-in-production"  # noqa: S105


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QINQING_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///qinqing.db"
    broker_url: str = Field(default="", description="Empty: Celery tasks run in-process.")
    data_dir: Path = Path("qinqing-data")
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    notify_file: Path | None = Field(
        default=None,
        description="Where the file sender writes; default DATA_DIR/notifications.jsonl",
    )

    bank_url: str = Field(
        default="",
        description="The bank gateway (payouts.gateways.gateway_from_url); default a simulated "
        "bank in DATA_DIR/bank.db",
    )
    payout_backoff_seconds: float = Field(default=2.0, gt=0)

    @property
    def bank(self) -> str:
        return self.bank_url or f"simulated://{(self.data_dir / 'bank.db').resolve()}"

    @property
    def notifications_path(self) -> Path:
        return self.notify_file or self.data_dir / "notifications.jsonl"

    @model_validator(mode="after")
    def _refuse_development_secret(self) -> Settings:
        if self.environment != "development" and (
            self.secret_key.get_secret_value() == DEVELOPMENT_SECRET
        ):
            raise ConfigurationError(
                "QINQING_SECRET_KEY is left at its development default; "
                f"set a secret of your own to run as {self.environment}"
            )
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with an explicit driver: psycopg 3 for PostgreSQL."""
        url = self.database_url
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
