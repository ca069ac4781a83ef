"""The database: engine, sessions, column types that behave alike on SQLite and PostgreSQL,
and migrations.

Transactions are committed in one place: the command, request or task that opened the session
(`session_scope`). Services and repositories only `flush`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    BigInteger,
    DateTime,
    Dialect,
    Engine,
    Numeric,
    String,
    create_engine,
    event,
    make_url,
)
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import Session

from subsidy.errors import ConfigurationError
from subsidy.money import to_yuan
from subsidy.settings import get_settings


class Money(TypeDecorator[Decimal]):
    """Yuan with two decimals, exact on both databases.

    PostgreSQL stores NUMERIC(16,2). SQLite has no exact decimal type (it would keep a float), so
    there the column holds an integer number of fen; sums stay exact and values come back as
    Decimal either way.
    """

    impl = Numeric(16, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(16, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        yuan = to_yuan(value)
        return int(yuan * 100) if dialect.name == "sqlite" else yuan

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-2)  # fen -> yuan, exponent -2: "12.30", "0.00"
        return to_yuan(value)


def identifier(length: int | None = None) -> TypeEngine[str]:
    """A code compared byte by byte (USCC, person id): collation "C" on PostgreSQL.

    Codes have no linguistic order; the "C" collation makes their indexes several times faster
    to build and to search than the database's locale would.
    """
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both databases (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, *, connections: int | None = None, wait: float | None = None) -> Engine:
    """An engine on `url`; `connections` bounds its pool (else SQLAlchemy's 5 + 10 overflow) and
    `wait` how long a checkout waits for one (else 30 s) before `sqlalchemy.exc.TimeoutError`."""
    pool: dict[str, Any] = {}
    if connections is not None and not _in_memory(url):
        # All opened on demand: the pool keeps what it opened, up to `connections`.
        pool = {"pool_size": connections, "max_overflow": 0}
    if wait is not None and not _in_memory(url):
        pool["pool_timeout"] = wait
    engine = create_engine(url, pool_pre_ping=True, **pool)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _in_memory(url: str) -> bool:
    """An in-memory SQLite database lives in one connection: its pool takes no size."""
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers go on while an import writes; foreign keys are off by default in SQLite;
    # a 64 MiB page cache (default 2 MiB) keeps bulk loads of millions of rows off the disk.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    return make_engine(
        settings.sqlalchemy_url,
        connections=settings.connections,
        wait=settings.pool_timeout_seconds,
    )


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """The unit of work of one command or task: commits on success, rolls back on any error."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("subsidy") / "migrations"))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine | None = None, revision: str = "head") -> None:
    """Bring the schema to `revision` (the demo and the tests use this, never create_all)."""
    command.upgrade(alembic_config(engine or get_engine()), revision)


def current_revision(engine: Engine | None = None) -> str | None:
    with (engine or get_engine()).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def require_current_schema(engine: Engine | None = None) -> None:
    """Refuse to work on a database whose schema is not the one this code was written for."""
    engine = engine or get_engine()
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    current = current_revision(engine)
    if current != head:
        raise ConfigurationError(
            f"the database {engine.url.render_as_string(hide_password=True)} is at schema "
            f"revision {current or '(none)'}, this version needs {head}: "
            "run `qinqing db upgrade`"
        )
