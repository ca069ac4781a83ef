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

    # --- inputs bounded (issue 13): request bodies and registry imports ---------------------
    # Far above any honest input, far below what would hurt the process: a JSON request here is
    # under 1 KiB; a policy document at most 1 MiB (sent as a form it may triple); a province's
    # registry is ~10 million firms and at most a few tens of millions of employees.
    max_body_bytes: int = Field(
        default=64 << 10,
        gt=0,
        description="Largest request body of any route but those that take a document; larger "
        "is 413 before it is parsed or its caller authenticated.",
    )
    max_document_body_bytes: int = Field(
        default=4 << 20,
        gt=0,
        description="Largest request body of the routes that take a policy document (the API's "
        "/api/v1/policy-drafts, the portal's editor under /officer/drafts).",
    )
    import_max_rows: int = Field(
        default=100_000_000,
        gt=0,
        description="Rows of one registry file: ten times a province's firms, twice its "
        "insured employees.",
    )
    import_max_columns: int = Field(
        default=256,
        gt=0,
        description="Columns of one registry file (the registry has 14 and 8).",
    )
    import_max_cell_chars: int = Field(
        default=32_767,
        gt=0,
        description="Characters in one cell, any column (Excel's own limit); the registry "
        "schema bounds each text column far tighter.",
    )
    import_max_xlsx_bytes: int = Field(
        default=2 << 30,
        gt=0,
        description="Uncompressed size of an XLSX file, all its parts together (a full "
        "1,048,576-row sheet of the enterprise registry is ~0.85 GiB).",
    )
    import_max_xlsx_cells: int = Field(
        default=50_000_000,
        gt=0,
        description="Cells a sheet spans (last row x widest column), which calamine allocates "
        "whole: a full 1,048,576-row enterprise sheet spans 14.7 million (~0.5 GiB).",
    )
    import_max_xlsx_ratio: int = Field(
        default=200,
        gt=0,
        description="Uncompressed size over compressed size of an XLSX file; registry sheets "
        "compress ~10 to 30 times, zip bombs a thousand times and more.",
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
