"""Settings from the environment (prefix `QINQING_`) or a `.env` file.

The embedded default needs nothing: a SQLite file and a data directory in the working directory,
and no broker (tasks run in-process). Production sets `QINQING_ENVIRONMENT=production`, a database
URL, a broker URL, a secret key and an audit key (`QINQING_AUDIT_KEY`, at least 32 bytes); any
environment but development refuses to start with the development secret or one shorter than 32
bytes. A setting that cannot be used is one `ConfigurationError` naming the variable
(`get_settings`), which the command line and the app factory print as one line
(`settings_or_exit`).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from subsidy.errors import ConfigurationError

DEVELOPMENT_SECRET = "qinqing-development-secret-do-not-use-in-production"  # noqa: S105
MIN_SECRET_BYTES = 32
"""HS256 keys shorter than the hash (32 bytes) can be searched offline from one token."""
KEY_RECIPE = """python -c "import secrets; print(secrets.token_urlsafe(32))\""""
DEVELOPMENT_AUDIT_KEY = "qinqing-development-audit-key-do-not-use-in-production"
MIN_AUDIT_KEY_BYTES = 32

SPARE_THREADS = 8
"""Threads beyond `max_in_flight`, for the routes admission never queues."""


@dataclass(frozen=True)
class Rate:
    """At most `requests` in any `seconds`, in bursts of up to `requests`."""

    requests: int
    seconds: float


RateLimitName = Literal["redeem", "preview", "report", "audit"]
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


_DEBTOR_PATTERNS = {
    "bank_debtor_account": (re.compile(r"[0-9A-Za-z]{8,34}"), "8 to 34 letters or digits"),
    "bank_debtor_name": (re.compile(r"\S.{0,139}", re.DOTALL), "1 to 140 characters"),
    "bank_debtor_cnaps": (re.compile(r"[0-9]{12}"), "a CNAPS2 participant code of 12 digits"),
    "bank_debtor_bic": (
        re.compile(r"[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?"),
        "a BIC (8 or 11 letters and digits, e.g. ICBKCNBJ)",
    ),
}
"""What the ISO 20022 schema lets a debtor's account, name, CNAPS code and BIC be."""

STAFF_ROLES = ("officer", "finance", "auditor")
"""The roles a provider's group may map to; a firm's user is known by its USCC claim instead."""


def parse_role_map(text: str) -> dict[str, str]:
    """`policy-officers=officer,finance=finance` -> {group: role}; each role a staff role."""
    mapped: dict[str, str] = {}
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            continue
        group, sep, role = (side.strip() for side in part.rpartition("="))
        if not sep or not group or role not in STAFF_ROLES:
            raise ValueError(
                f"{part!r} is not GROUP=ROLE with ROLE one of {', '.join(STAFF_ROLES)}"
            )
        if mapped.get(group, role) != role:
            raise ValueError(f"the group {group!r} is mapped to two roles")
        mapped[group] = role
    return mapped


TUNABLES = (
    "payout_batch_size",
    "payout_gather_chunk",
    "payout_return_window_days",
    "bank_query_chunk",
    "in_list_bound",
    "report_query_chunk",
    "bulk_chunk_rows",
)
"""The settings that size work rather than decide it (README lists each; a test checks)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QINQING_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///qinqing.db"
    broker_url: str = Field(default="", description="Empty: Celery tasks run in-process.")
    payout_sweep_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often the beat (`qinqing beat`) sends a payout run and a sweep of the "
        "open batches to the workers.",
    )
    data_dir: Path = Path("qinqing-data")

    # The tunables: the numbers that size work, each in one place (here) and a setting. They
    # change how much is done per statement, transaction or file, never what is done.
    payout_batch_size: int = Field(
        default=1_000, ge=1, le=50_000, description="Items per payout batch (one bank file)."
    )
    payout_gather_chunk: int = Field(
        default=20_000,
        ge=1,
        description="Approved redemptions a payout run gathers per committed transaction.",
    )
    payout_return_window_days: int = Field(
        default=30, ge=1, description="How far back the sweep asks the bank for returned payments."
    )
    bank_query_chunk: int = Field(
        default=1_000, ge=1, description="Payment keys per question to the bank (its bound)."
    )
    in_list_bound: int = Field(
        default=5_000,
        ge=1,
        le=30_000,
        description="Values per SQL IN list (SQLite binds at most 32,766 parameters).",
    )
    report_query_chunk: int = Field(
        default=10_000, ge=1, description="Rows a report or export reads per query."
    )
    bulk_chunk_rows: int = Field(
        default=50_000, ge=1, description="Rows per COPY or executemany chunk in bulk writes."
    )
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    notify_file: Path | None = Field(
        default=None,
        description="Where the file sender writes; default DATA_DIR/notifications.jsonl",
    )

    # --- e-mail notices (issue 16): `qinqing notify` through an SMTP relay -------------------
    notify_sender: Literal["file", "smtp"] = Field(
        default="file",
        description="Where `qinqing notify` delivers: file (JSON lines, QINQING_NOTIFY_FILE) or "
        "smtp (e-mail to each firm's address, QINQING_SMTP_* and QINQING_MAIL_*)",
    )
    smtp_host: str = Field(
        default="", description="The SMTP relay; required outside development (there: localhost)"
    )
    smtp_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Empty: 25 with QINQING_SMTP_TLS=none, 587 with starttls, 465 with ssl",
    )
    smtp_tls: Literal["none", "starttls", "ssl"] = Field(
        default="starttls",
        description="none (a relay on the host or a trusted network), starttls (submission, "
        "587) or ssl (implicit TLS, 465); the relay's certificate is always verified",
    )
    smtp_user: str = Field(default="", description="Empty: no AUTH")
    smtp_password: SecretStr | None = Field(
        default=None, description="The AUTH password (never logged nor echoed)"
    )
    smtp_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Connecting and each SMTP command wait at most this"
    )
    smtp_ca_file: Path | None = Field(
        default=None,
        description="A PEM file of the CA that signed the relay's certificate (a department's "
        "private CA); empty: the system's trusted CAs",
    )
    mail_from: str = Field(
        default="",
        description="The From address of notices; required outside development (there: "
        "qinqing@localhost); its domain ends every Message-ID",
    )
    mail_address_column: str = Field(
        default="",
        description="The declared text column of a uscc-keyed source that holds each firm's "
        "e-mail address; required with the smtp sender outside development",
    )
    mail_language_column: str = Field(
        default="",
        description="Optional: a declared text column of a uscc-keyed source with each firm's "
        "language (zh or en); a firm whose language is en reads English first",
    )
    mail_retry_seconds: float = Field(
        default=60.0,
        gt=0,
        description="The first wait after a transient failure (4xx, no connection); doubled "
        "after each further one, at most an hour",
    )
    mail_max_attempts: int = Field(
        default=10,
        ge=1,
        description="Transient failures before a notice is recorded as undelivered (unreachable)",
    )
    mail_journal: Path | None = Field(
        default=None,
        description="The Message-IDs the relay accepted, appended before the outbox commits (a "
        "rerun after a crash skips them); default DATA_DIR/mail-sent.jsonl",
    )

    bank_url: str = Field(
        default="",
        description="The bank gateway (payouts.gateways.gateway_from_url); default a simulated "
        "bank in DATA_DIR/bank.db",
    )
    payout_backoff_seconds: float = Field(default=2.0, gt=0)
    # --- the paying department's account, for ISO 20022 files (`files:DIR?format=iso20022`) --
    bank_debtor_account: str = Field(
        default="",
        description="The paying department's account number (pain.001 DbtrAcct/Id/Othr/Id); "
        "required by an ISO 20022 file bank",
    )
    bank_debtor_name: str = Field(
        default="",
        description="The paying department's name as its bank holds it (pain.001 Dbtr/Nm; also "
        "the initiating party)",
    )
    bank_debtor_cnaps: str = Field(
        default="",
        description="The CNAPS2 participant code (12 digits) of the paying account's branch "
        "(pain.001 DbtrAgt ClrSysMmbId, clearing system CNAPS)",
    )
    bank_file_max_bytes: int = Field(
        default=64 << 20,
        gt=0,
        description="Largest ISO 20022 or MT940 file read from a bank (a month's statement of "
        "a large payout run is a few MiB); larger ones are refused before parsing",
    )
    bank_debtor_bic: str = Field(
        default="",
        description="The paying bank's BIC (pain.001 DbtrAgt/FinInstnId/BICFI); optional",
    )
    today: dt.date | None = Field(
        default=None,
        description="The business date redemptions and previews act on; empty: today's date in "
        "QINQING_TIMEZONE. The demo's policies are from 2020, so `qinqing demo` serves with "
        "2020-06-30.",
    )
    timezone: str = Field(
        default="Asia/Shanghai",
        description="The IANA time zone every time a user reads is shown in (pages, command "
        "output, notices); times are stored in UTC and the API answers ISO 8601 in UTC",
    )

    # --- secrets and sessions (issue 13) --------------------------------------------------
    token_max_hours: float = Field(
        default=12,
        gt=0,
        description="The longest an API bearer token may live (exp - iat); longer ones are "
        "refused, and `qinqing token --hours` mints none longer",
    )
    session_hours: float = Field(
        default=12, gt=0, description="A portal session ends this long after sign-in"
    )
    session_idle_minutes: float = Field(
        default=30, gt=0, description="A portal session ends when unused this long"
    )
    sign_in_code_minutes: float = Field(
        default=10, gt=0, description="How long a one-time sign-in code (a sign-in link) lives"
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="A bearer token that opens /metrics (Authorization: Bearer ...)",
    )
    metrics_clients: str = Field(
        default="",
        description="Comma-separated addresses or networks (127.0.0.1, 10.0.0.0/8) whose "
        "requests may read /metrics without a token. In development /metrics is open when "
        "neither this nor QINQING_METRICS_TOKEN is set; elsewhere it is then 404",
    )
    api_docs: bool | None = Field(
        default=None,
        description="Serve /docs, /redoc and /openapi.json; unset: everywhere but production",
    )

    # --- signing in through an OpenID provider (issue 16; subsidy/identity, subsidy/signin)
    oidc_issuer: str = Field(
        default="",
        description="The OpenID provider's issuer URL (its discovery is ISSUER/.well-known/"
        "openid-configuration); empty: no OpenID sign-in",
    )
    oidc_client_id: str = Field(default="", description="The portal's client id at the provider")
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="The client's secret (client_secret_basic); never logged"
    )
    oidc_scopes: str = Field(default="openid profile", description="Scopes asked for")
    oidc_uscc_claim: str = Field(
        default="uscc",
        description="The claim carrying a firm user's USCC (unified social credit code)",
    )
    oidc_roles_claim: str = Field(
        default="groups", description="The claim listing a staff user's groups or roles"
    )
    oidc_role_map: str = Field(
        default="",
        description="Provider groups to portal roles, e.g. policy-officers=officer,finance=finance,"
        "auditors=auditor",
    )
    oidc_redirect_url: str = Field(
        default="",
        description="The callback registered at the provider; empty: the request's own base "
        "URL + /sign-in/oidc/callback",
    )
    oidc_post_logout_url: str = Field(
        default="",
        description="Where the provider sends the browser after sign-out; empty: the request's "
        "own base URL + /sign-in",
    )
    oidc_name: str = Field(
        default="", description="The provider's name on the sign-in button; empty: its host"
    )
    oidc_api_audience: str = Field(
        default="",
        description="The audience an access token must name to be used on the API; empty: the "
        "client id (in `aud`, or as `azp` / `client_id`)",
    )
    oidc_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long a call to the provider may take"
    )

    # --- inputs bounded (issue 13): request bodies and registry imports ---------------------
    # Far above any honest input, far below what would hurt the process: a JSON request here is
    # under 1 KiB; a policy document at most 256 KiB (sent as a form it may triple); a province's
    # registry is ~10 million firms and at most a few tens of millions of employees.
    max_body_bytes: int = Field(
        default=64 << 10,
        gt=0,
        description="Largest request body of any route but those that take a document; larger "
        "is 413 before it is parsed or its caller authenticated.",
    )
    max_document_body_bytes: int = Field(
        default=1 << 20,
        gt=0,
        description="Largest request body of the routes that take a policy document (the API's "
        "/api/v1/policy-drafts, the portal's editor under /officer/drafts).",
    )
    max_statement_body_bytes: int = Field(
        default=32 << 20,
        gt=0,
        description="Largest request body of the routes that take a bank statement file (the "
        "API's /api/v1/bank-statements, the portal's /finance/statements).",
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
    rate_limit_audit: str = Field(
        default="6/minute",
        description="Audit chain verifications and trail exports per auditor (API and portal)",
    )

    @field_validator(
        "rate_limit_redeem", "rate_limit_preview", "rate_limit_report", "rate_limit_audit"
    )
    @classmethod
    def _rate_reads(cls, value: str, info: ValidationInfo) -> str:
        try:
            parse_rate(value)
        except ValueError as exc:
            name = f"QINQING_{(info.field_name or '').upper()}"
            raise ConfigurationError(f"{name}: {exc}") from None
        return value

    @field_validator(
        "bank_debtor_account", "bank_debtor_name", "bank_debtor_cnaps", "bank_debtor_bic"
    )
    @classmethod
    def _debtor_reads(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip()
        pattern = _DEBTOR_PATTERNS[info.field_name or ""]
        if value and not pattern[0].fullmatch(value):
            name = f"QINQING_{(info.field_name or '').upper()}"
            raise ConfigurationError(f"{name}: {value!r} is not {pattern[1]}")
        return value

    @field_validator("oidc_role_map")
    @classmethod
    def _role_map_reads(cls, value: str) -> str:
        try:
            parse_role_map(value)
        except ValueError as exc:
            raise ConfigurationError(f"QINQING_OIDC_ROLE_MAP: {exc}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(
                f"QINQING_TIMEZONE: {value!r} is not an IANA time zone (e.g. Asia/Shanghai)"
            ) from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        """Where users read times (`subsidy.localtime`)."""
        return ZoneInfo(self.timezone)

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
        """What "today" is for a redemption's validity and a preview's default as-of: the date
        in the users' time zone (a firm redeeming at 00:30 Beijing time acts on that day)."""
        return self.today or dt.datetime.now(self.zone).date()

    @property
    def bank(self) -> str:
        return self.bank_url or f"simulated://{(self.data_dir / 'bank.db').resolve()}"

    @property
    def notifications_path(self) -> Path:
        return self.notify_file or self.data_dir / "notifications.jsonl"

    @property
    def smtp_server(self) -> tuple[str, int]:
        """The relay's host and port (the port by QINQING_SMTP_TLS when it is not set)."""
        host = self.smtp_host or "localhost"
        port = self.smtp_port or {"none": 25, "starttls": 587, "ssl": 465}[self.smtp_tls]
        return host, port

    @property
    def mail_sender_address(self) -> str:
        return self.mail_from or "qinqing@localhost"

    @property
    def mail_journal_path(self) -> Path:
        return self.mail_journal or self.data_dir / "mail-sent.jsonl"

    @property
    def docs_enabled(self) -> bool:
        return self.environment != "production" if self.api_docs is None else self.api_docs

    @property
    def metrics_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in self.metrics_clients.split(",")
            if part.strip()
        )

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
        if self.environment == "development":
            return self
        secret = self.secret_key.get_secret_value()
        if secret == DEVELOPMENT_SECRET:
            raise ConfigurationError(
                "QINQING_SECRET_KEY is left at its development default; "
                f"set a secret of your own to run as {self.environment} (make one with "
                f"{KEY_RECIPE})"
            )
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ConfigurationError(
                f"QINQING_SECRET_KEY is shorter than {MIN_SECRET_BYTES} bytes "
                f"({len(secret.encode())}); tokens signed with it can be forged offline. "
                f"Make one with {KEY_RECIPE}"
            )
        return self

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer)

    @property
    def local_sign_in(self) -> bool:
        """Whether the portal's token form and sign-in links and the API's locally minted
        tokens are accepted: always in development; elsewhere only while no OpenID provider is
        configured (they are then the only proof of identity there is)."""
        return self.environment == "development" or not self.oidc_enabled

    @property
    def role_map(self) -> dict[str, str]:
        return parse_role_map(self.oidc_role_map)

    @model_validator(mode="after")
    def _check_oidc(self) -> Settings:
        if not self.oidc_issuer:
            return self
        if not self.oidc_client_id:
            raise ConfigurationError(
                "QINQING_OIDC_CLIENT_ID is empty; QINQING_OIDC_ISSUER needs the client id "
                "registered at the provider"
            )
        if "openid" not in self.oidc_scopes.split():
            raise ConfigurationError(
                f"QINQING_OIDC_SCOPES must include openid (got {self.oidc_scopes!r})"
            )
        if self.environment == "production":
            for name in ("oidc_issuer", "oidc_redirect_url", "oidc_post_logout_url"):
                url = getattr(self, name)
                if url and not url.startswith("https://"):
                    raise ConfigurationError(
                        f"QINQING_{name.upper()} must be an https:// URL in production"
                    )
        return self

    @model_validator(mode="after")
    def _check_metrics_clients(self) -> Settings:
        try:
            self.metrics_networks  # noqa: B018  # parsed here so a typo stops the start
        except ValueError as exc:
            raise ConfigurationError(f"QINQING_METRICS_CLIENTS: {exc}") from exc
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
    def _check_smtp(self) -> Settings:
        """An SMTP sender needs a relay, a From and where each firm's address is; outside
        development nothing is assumed, and no password crosses the network in clear."""
        if self.smtp_ca_file is not None and not self.smtp_ca_file.is_file():
            raise ConfigurationError(
                f"QINQING_SMTP_CA_FILE: {self.smtp_ca_file} is not a file (a PEM bundle of the "
                "CA that signed the relay's certificate)"
            )
        if self.mail_from and not _looks_like_address(self.mail_from):
            raise ConfigurationError(
                f"QINQING_MAIL_FROM: {self.mail_from!r} is not an e-mail address "
                "(name@domain.example)"
            )
        if self.smtp_password is not None and not self.smtp_user:
            raise ConfigurationError(
                "QINQING_SMTP_USER is empty while QINQING_SMTP_PASSWORD is set; name the account"
            )
        if self.notify_sender != "smtp" or self.environment == "development":
            return self
        for variable, value in (
            ("QINQING_SMTP_HOST", self.smtp_host),
            ("QINQING_MAIL_FROM", self.mail_from),
            ("QINQING_MAIL_ADDRESS_COLUMN", self.mail_address_column),
        ):
            if not value:
                raise ConfigurationError(
                    f"{variable} is not set; QINQING_NOTIFY_SENDER=smtp needs it to run as "
                    f'{self.environment} (see the README, "Sending notices by e-mail")'
                )
        if self.smtp_user and self.smtp_tls == "none":
            raise ConfigurationError(
                "QINQING_SMTP_TLS is none while QINQING_SMTP_USER is set: the password would "
                "cross the network in clear; use starttls or ssl"
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


def _looks_like_address(text: str) -> bool:
    """name@domain: the full check of a firm's address is subsidy.notifications.addresses'."""
    local, at, domain = text.partition("@")
    return bool(local and at and "." in domain.strip(".") and not any(c.isspace() for c in text))


@lru_cache
def get_settings() -> Settings:
    """The settings, or a `ConfigurationError` naming every variable that cannot be used."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError(_variables(exc)) from None


def _variables(exc: ValidationError) -> str:
    """`QINQING_TODAY: Input should be a valid date ...; QINQING_...` from pydantic's errors."""
    said = []
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        name = f"QINQING_{field.upper()}" if field else "settings"
        if not field:
            said.append(error["msg"])
        elif field.endswith(("_key", "_token", "_url", "_password", "_secret")):  # never echoed
            said.append(f"{name}: {error['msg']}")
        else:
            said.append(f"{name}: {error['msg']} (got {error['input']!r})")
    return "; ".join(said)


def settings_or_exit() -> Settings:
    """For entry points (the command line, the app factory uvicorn imports): a setting that
    cannot be used is one line on stderr and exit status 2, never a traceback."""
    try:
        return get_settings()
    except ConfigurationError as exc:
        print(f"qinqing: configuration: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
