"""Settings from the environment (prefix `QINQING_`) or a `.env` file.

The embedded default needs nothing: a SQLite file and a data directory in the working directory,
and no broker (tasks run in-process). Production sets `QINQING_ENVIRONMENT=production`, a database
URL, a broker URL and a secret key; any environment but development refuses to start with the
development secret.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from subsidy.errors import ConfigurationError

DEVELOPMENT_SECRET = "qinqing-development-secret-do-not-use-in-production"  # noqa: S105
SPARE_THREADS = 8
"""Threads beyond `max_in_flight`, for the routes admission never queues."""


@dataclass(frozen=True)
class Rate:
    """At most `requests` in any `seconds`, in bursts of up to `requests`."""

    requests: int
    seconds: float


RateLimitName = Literal["redeem", "preview", "report"]
"""The limits a setting QINQING_RATE_LIMIT_<NAME> sets (`subsidy.api.ratelimit`)."""

_PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}


def parse_rate(text: str) -> Rate | None:
    """A rate limit as the settings spell it: 20/minute is Rate(20, 60.0), off is None."""
    if text.strip().lower() == "off":
        return None
    count, _, period = text.strip().partition("/")
    if not count.strip().isdigit() or int(count) < 1 or period.strip() not in _PERIODS:
        raise ValueError(
            f"a rate limit reads N/second, N/minute or N/hour (N >= 1), or off; not {text!r}"
        )
    return Rate(int(count), _PERIODS[period.strip()])


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

    # --- Service under load (issue 13): admission, threads and connections, rate limits ---
    # A worker process admits `max_in_flight` requests at a time; the others wait in the event
    # loop (no thread, no connection) for at most `admission_wait_seconds`, then get 503 with
    # Retry-After. The thread pool and the connection pool are both sized from `max_in_flight`
    # (see `threads` and `connections`), so an admitted request never waits for a thread or a
    # connection that another admitted request holds while it waits for it in turn.
    max_in_flight: int = Field(
        default=20,
        ge=1,
        description="Requests a worker process serves at once (PostgreSQL needs workers x "
        "(this + 8) connections besides the other processes')",
    )
    admission_wait_seconds: float = Field(
        default=10.0, gt=0, description="How long a request may wait for admission before 503"
    )
    pool_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long a request may wait for a database connection"
    )
    overload_retry_after_seconds: int = Field(
        default=5, ge=1, description="Retry-After of a 503 (overloaded) or a pool timeout"
    )
    rate_limit_redeem: str = Field(
        default="20/minute",
        description="Redemption POSTs per client (API and portal): N/second|minute|hour, or off",
    )
    rate_limit_preview: str = Field(
        default="6/minute", description="Draft previews per officer (API and portal)"
    )
    rate_limit_report: str = Field(
        default="6/minute", description="Report exports per reader (API and portal)"
    )

    @field_validator("rate_limit_redeem", "rate_limit_preview", "rate_limit_report")
    @classmethod
    def _rate_reads(cls, value: str, info: ValidationInfo) -> str:
        try:
            parse_rate(value)
        except ValueError as exc:
            name = f"QINQING_{(info.field_name or '').upper()}"
            raise ConfigurationError(f"{name}: {exc}") from None
        return value

    def rate(self, limit: RateLimitName) -> Rate | None:
        """A rate limit by name; None when it is off."""
        return parse_rate(getattr(self, f"rate_limit_{limit}"))

    @property
    def threads(self) -> int:
        """The worker's thread pool: the admitted requests, and spare threads for what is never
        queued (/healthz, /metrics, static files)."""
        return self.max_in_flight + SPARE_THREADS

    @property
    def connections(self) -> int:
        """The most connections a worker's pool opens: one per thread, so a thread never waits
        for a connection."""
        return self.threads

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
