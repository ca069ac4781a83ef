"""Shared fixtures: a migrated database per test, on SQLite or on PostgreSQL.

The suite runs on SQLite unless `QINQING_DATABASE_URL` names a PostgreSQL database; `.ci/run`
runs it both ways. Tests marked `postgres` always need the PostgreSQL server: they skip when it is
absent, except under CI=true, where its absence fails them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from subsidy import db, jobs
from subsidy.settings import Settings, get_settings

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _configured_url() -> str | None:
    url = os.environ.get("QINQING_DATABASE_URL")
    return Settings(database_url=url).sqlalchemy_url if url else None


def _postgres_url() -> str:
    configured = _configured_url()
    if configured and configured.startswith("postgresql"):
        return configured
    return os.environ.get("QINQING_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _fresh_postgres(url: str) -> Engine:
    engine = db.make_engine(url)
    if "test" not in (engine.url.database or ""):
        pytest.fail(
            f"refusing to wipe {engine.url.database!r}: test databases have 'test' in the name"
        )
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    except OperationalError as exc:
        engine.dispose()
        message = f"PostgreSQL is not reachable at {url}: {exc.orig}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return engine


def _migrated(engine: Engine) -> Engine:
    db.upgrade(engine)
    return engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A freshly migrated database: the configured PostgreSQL, or a SQLite file."""
    configured = _configured_url()
    if configured and configured.startswith("postgresql"):
        engine = _fresh_postgres(configured)
    else:
        engine = db.make_engine(f"sqlite:///{tmp_path / 'qinqing.db'}")
    yield _migrated(engine)
    engine.dispose()


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """A freshly migrated PostgreSQL database, whatever the suite runs on."""
    engine = _migrated(_fresh_postgres(_postgres_url()))
    yield engine
    engine.dispose()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def app_env(engine: Engine, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """Settings and the engine cache pointed at the test database, for CLI tests."""
    monkeypatch.setenv("QINQING_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("QINQING_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    yield engine
    get_settings.cache_clear()
    db.get_engine.cache_clear()


DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_url() -> str:
    """The Redis broker tests may use (its database is flushed first)."""
    import redis

    url = os.environ.get("QINQING_BROKER_URL") or os.environ.get(
        "QINQING_TEST_REDIS_URL", DEFAULT_REDIS_URL
    )
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis is not reachable at {url}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    client.flushdb()
    client.close()
    return url


@pytest.fixture(autouse=True)
def audit_checkpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test's audit checkpoints in its own directory (also for the servers and workers it
    starts), never in the working directory where another test's would be read."""
    folder = tmp_path / "audit-checkpoints"
    monkeypatch.setenv("QINQING_AUDIT_CHECKPOINT_DIR", str(folder))
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def tasks_in_process() -> Iterator[None]:
    """Tasks run in-process in the test process, whatever broker the environment names; tests
    that need a real broker start `qinqing worker` processes with the `redis_url` fixture."""
    jobs.configure(broker_url="")
    yield
    jobs.configure(broker_url="")


@pytest.fixture(autouse=True)
def full_rate_limits() -> None:
    """Each test starts with full rate-limit buckets. In-process buckets go with their app; with
    a Redis broker (the second CI run) they live in Redis and would outlast a test."""
    url = os.environ.get("QINQING_BROKER_URL", "")
    if not url.startswith(("redis://", "rediss://")):
        return
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        stale = list(client.scan_iter(match="qinqing:rate:*", count=1000))
        if stale:
            client.delete(*stale)
    except redis.RedisError:
        pass  # no Redis: the limits fall back to each app's own buckets
    finally:
        client.close()
