"""Settings from the environment (prefix `QINQING_`) or a `.env` file.

The embedded default needs nothing: a SQLite file and a data directory in the working directory,
and no broker (tasks run in-process). Production sets `QINQING_ENVIRONMENT=production`, a database
URL, a broker URL and a secret key; any environment but development refuses to start with the
development secret.
"""

from __future__ import annotations

import datetime as dt
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
    today: dt.date | None = Field(
        default=None,
        description="The business date redemptions and previews act on; empty: the UTC date. "
        "The demo's policies are from 2020, so `qinqing demo` serves with 2020-06-30.",
    )

    # --- rules cannot stop the service (issue 13): per-firm evaluations are time-boxed
    rule_deadline_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How long one policy's evaluation for one firm (a page, a redemption's "
        "re-check, an explanation, a policy's tests) may run before its evaluator process is "
        "killed and the firm gets an error for that policy.",
    )
    rule_evaluators: int = Field(
        default=2,
        ge=1,
        description="Evaluator processes per server process (subsidy/deadline.py); a call waits "
        "for a free one within its deadline.",
    )

    @property
    def business_date(self) -> dt.date:
        """What "today" is for a redemption's validity and a preview's default as-of."""
        return self.today or dt.datetime.now(dt.UTC).date()

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

    @model_validator(mode="after")
    def _refuse_make_believe_in_production(self) -> Settings:
        """Production pays real money on real dates: no fixed business date, no simulated bank."""
        if self.environment != "production":
            return self
        if self.today is not None:
            raise ConfigurationError(
                "QINQING_TODAY fixes the business date; production runs on the real date"
            )
        if not self.bank_url or self.bank_url.startswith("simulated:"):
            raise ConfigurationError(
                "QINQING_BANK_URL must name a real bank gateway (files:...) in production"
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
