"""Settings from the environment (prefix `QINQING_`) or a `.env` file.

The embedded default needs nothing: a SQLite file and a data directory in the working directory,
and no broker (tasks run in-process). Production sets `QINQING_ENVIRONMENT=production`, a database
URL, a broker URL, a secret key and an audit key (`QINQING_AUDIT_KEY`, at least 32 bytes); any
environment but development refuses to start with the development secret.
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
DEVELOPMENT_AUDIT_KEY = "qinqing-development-audit-key-do-not-use-in-production"
MIN_AUDIT_KEY_BYTES = 32


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

    # The audit trail's key and checkpoints (subsidy/audit): both held outside the database.
    audit_key: SecretStr | None = Field(
        default=None,
        description="The HMAC key of the audit chain and its checkpoints, at least "
        f"{MIN_AUDIT_KEY_BYTES} bytes; required in production. Empty (development, test): a "
        "fixed development key, which `qinqing audit verify` names.",
    )
    audit_checkpoint_dir: Path | None = Field(
        default=None,
        description="Where signed checkpoints of the audit chain's head are appended; default "
        "DATA_DIR/audit-checkpoints. Keep it off the database's host and backups.",
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

    @property
    def audit_key_bytes(self) -> bytes:
        """The audit chain's HMAC key (the development key unless QINQING_AUDIT_KEY is set)."""
        key = self.audit_key.get_secret_value() if self.audit_key else DEVELOPMENT_AUDIT_KEY
        return key.encode()

    @property
    def audit_key_is_development(self) -> bool:
        return self.audit_key is None

    @property
    def audit_checkpoints(self) -> Path:
        return self.audit_checkpoint_dir or self.data_dir / "audit-checkpoints"

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

    @model_validator(mode="after")
    def _refuse_weak_audit_key(self) -> Settings:
        """Whoever can forge the chain's MACs can rewrite the audit trail: production needs a
        key of its own, long enough not to be guessed."""
        key = self.audit_key.get_secret_value().encode() if self.audit_key else b""
        if self.audit_key is not None and len(key) < MIN_AUDIT_KEY_BYTES:
            raise ConfigurationError(
                f"QINQING_AUDIT_KEY has {len(key)} bytes; give it at least "
                f"{MIN_AUDIT_KEY_BYTES} (e.g. the output of `openssl rand -hex 32`)"
            )
        if self.environment == "production" and self.audit_key is None:
            raise ConfigurationError(
                "QINQING_AUDIT_KEY is not set; production needs an audit key of at least "
                f"{MIN_AUDIT_KEY_BYTES} bytes, kept outside the database "
                "(e.g. the output of `openssl rand -hex 32`)"
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
