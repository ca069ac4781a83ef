"""Shared fixtures: a migrated database per test, on SQLite or on PostgreSQL, and a Redis database.

The suite runs on SQLite unless `QINQING_DATABASE_URL` names a PostgreSQL database; `.ci/run`
runs it both ways. Tests marked `postgres` always need the PostgreSQL server: they skip when it is
absent, except under CI=true, where its absence fails them (Redis likewise).

The suite touches nothing it did not create:
- PostgreSQL: the configured URL names a *server* (its database, `test` in `.ci/run`, is never
  opened). The run creates `test_qinqing_<random>_template` there, migrates it once, and gives
  each test a clone (`CREATE DATABASE ... TEMPLATE`), dropped after the test; the template is
  dropped at the end of the run.
- SQLite: one file migrated per run, copied for each test.
- Redis: QINQING_TEST_REDIS_URL when set (that database is flushed); else the run claims an empty
  database 1..15 on the server of QINQING_BROKER_URL (or 127.0.0.1:6379) with a key set only if
  absent (`qinqing:test:claim`, expiring), flushes only that one, and points QINQING_BROKER_URL
  at it for the whole run. Database 0 is never used.
Commits are real: no test runs inside a transaction rolled back for it. A heavy world (a registry
matched, redemptions made) is built once per worker and copied into each test that asks for it
(the `worlds` fixture, `tests/snapshots.py`): a copy of its own, as the migrated file is.

The suite runs in parallel (pytest-xdist, `-n auto` in pyproject.toml): one worker per core, at
most four. Each worker is a run of its own (its own RUN name, so its own PostgreSQL template and
clones and its own claimed Redis database), which is why nothing above is shared between them.
`-n 0` runs the suite in this one process, for a debugger or print().
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from subsidy import db, workers
from subsidy.settings import Settings, get_settings
from tests import ownership, snapshots

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
"""Only its server is used: the run creates its own databases beside `test`."""
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"

RUN = f"test_qinqing_{secrets.token_hex(4)}"
"""This run's name: its PostgreSQL databases start with it, its Redis claim holds it."""


def _unavailable(message: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _configured_url() -> str | None:
    url = os.environ.get("QINQING_DATABASE_URL")
    return Settings(database_url=url).sqlalchemy_url if url else None


def _postgres_url() -> str:
    configured = _configured_url()
    if configured and configured.startswith("postgresql"):
        return configured
    return os.environ.get("QINQING_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _on_postgres() -> bool:
    configured = _configured_url()
    return bool(configured and configured.startswith("postgresql"))


def _isolated(settings_dir: Path) -> pytest.MonkeyPatch:
    """Migrations run with audit checkpoints written aside, never into the working directory."""
    patch = pytest.MonkeyPatch()
    patch.setenv("QINQING_AUDIT_CHECKPOINT_DIR", str(settings_dir / "audit-checkpoints"))
    get_settings.cache_clear()
    return patch


# --- PostgreSQL: a template per run, a clone per test ------------------------------------------


class PostgresServer:
    """The server of the configured PostgreSQL URL, where this run creates its databases."""

    def __init__(self, url: str, scratch: Path) -> None:
        self.url: URL = make_url(url)
        self.template = f"{RUN}_template"
        self._scratch = scratch
        self._count = 0
        self._kept = 0
        self._admin: Engine | None = None
        self._failure: str | None = None
        self._live: set[str] = set()

    def _server(self) -> str:
        return self.url.set(database=None).render_as_string(hide_password=True)

    def _connect(self) -> Engine:
        """An autocommit connection for CREATE / DROP DATABASE, opened on the server's own
        `postgres` database (never the configured one), and the run's template, migrated on
        first use; the first failure is remembered so that the other tests skip at once."""
        if self._failure is not None:
            _unavailable(self._failure)
        if self._admin is None:
            admin = create_engine(
                self.url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
            )
            try:
                with admin.connect() as connection:
                    connection.execute(text(f'CREATE DATABASE "{self.template}"'))
            except OperationalError as exc:
                admin.dispose()
                self._failure = f"PostgreSQL is not reachable at {self._server()}: {exc.orig}"
                _unavailable(self._failure)
            self._admin = admin  # from here on, close() drops the template
            self._live.add(self.template)
            engine = db.make_engine(self._at(self.template))
            patch = _isolated(self._scratch)
            try:
                db.upgrade(engine)
            except Exception as exc:
                self._failure = f"migrating the run's template database failed: {exc}"
                raise
            finally:
                engine.dispose()  # nobody may be connected to a template while it is cloned
                patch.undo()
                get_settings.cache_clear()
        return self._admin

    def _at(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    @contextmanager
    def database(self) -> Iterator[Engine]:
        """A migrated database of this test's own, dropped afterwards."""
        admin = self._connect()
        self._count += 1
        name = f"{RUN}_{self._count}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        self._live.add(name)
        engine = db.make_engine(self._at(name))
        try:
            yield engine
        finally:
            engine.dispose()
            self._drop(name)

    def keep(self, engine: Engine, name: str) -> str:
        """`DatabaseCopies.keep`: a database of the run cloned from the test's."""
        source = engine.url.database
        assert source is not None
        assert source.startswith(RUN)
        admin = self._connect()
        self._kept += 1
        kept = f"{RUN}_kept_{self._kept}"
        self._alone_on(engine)
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{kept}" TEMPLATE "{source}"'))
        self._live.add(kept)
        return kept

    def put_back(self, kept: str, engine: Engine) -> None:
        """`DatabaseCopies.put_back`: the test's database dropped and cloned from `kept`."""
        name = engine.url.database
        assert name is not None
        assert name.startswith(RUN)
        admin = self._connect()
        self._alone_on(engine)
        self._drop(name)
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{kept}"'))
        self._live.add(name)

    def _alone_on(self, engine: Engine) -> None:
        """Nobody on the test's database: its engines' connections closed, any other ended."""
        engine.dispose()
        snapshots.dispose_cached_engine()
        assert self._admin is not None
        with self._admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": engine.url.database},
            )

    def _drop(self, name: str) -> None:
        """Drop a database of this run: first end the sessions left on it (a server or worker
        a test started, killed before it closed its connections)."""
        assert self._admin is not None
        assert name.startswith(RUN)
        with self._admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        self._live.discard(name)

    def close(self) -> None:
        if self._admin is None:
            return
        for name in sorted(self._live):
            self._drop(name)
        self._admin.dispose()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = PostgresServer(_postgres_url(), tmp_path_factory.mktemp("postgres-template"))
    yield server
    server.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated for the run; each test gets a copy (a migration costs ~0.3 s)."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "qinqing.db"
    engine = db.make_engine(f"sqlite:///{path}")
    patch = _isolated(folder)
    try:
        db.upgrade(engine)
    finally:
        engine.dispose()  # the last connection checkpoints the WAL into the file
        patch.undo()
        get_settings.cache_clear()
    return path


def _sqlite_copy(template: Path, target: Path) -> Engine:
    shutil.copy(template, target)
    for suffix in ("-wal", "-shm"):
        companion = template.with_name(template.name + suffix)
        if companion.exists():
            shutil.copy(companion, target.with_name(target.name + suffix))
    return db.make_engine(f"sqlite:///{target}")


@contextmanager
def _test_database(file: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated database of the test's own: on the configured PostgreSQL server, or `file`
    copied from the run's SQLite template."""
    if _on_postgres():
        server: PostgresServer = request.getfixturevalue("postgres_server")
        with server.database() as engine:
            yield engine
        return
    template: Path = request.getfixturevalue("sqlite_template")
    engine = _sqlite_copy(template, file)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def engine(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated database of this test's own: on the configured PostgreSQL server, or a
    SQLite file."""
    with _test_database(tmp_path / "qinqing.db", request) as engine:
        yield engine


@pytest.fixture
def another_engine(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A second database of this test's own, on the same server as `engine` (a reset or a
    restored backup, as the process that served the first one sees it)."""
    with _test_database(tmp_path / "another.db", request) as engine:
        yield engine


@pytest.fixture
def pg_engine(postgres_server: PostgresServer) -> Iterator[Engine]:
    """A migrated PostgreSQL database of this test's own, whatever the suite runs on."""
    with postgres_server.database() as engine:
        yield engine


@pytest.fixture(scope="session")
def kept_worlds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kept-worlds")


@pytest.fixture
def worlds(engine: Engine, tmp_path: Path, request: pytest.FixtureRequest) -> snapshots.Snapshots:
    """Worlds built once per worker and copied into this test (`tests.snapshots`)."""
    return worlds_for(engine, tmp_path, request)


def worlds_for(
    engine: Engine, tmp_path: Path, request: pytest.FixtureRequest
) -> snapshots.Snapshots:
    """The worlds of a test whose database is `engine` and whose files are under `tmp_path`."""
    kept: Path = request.getfixturevalue("kept_worlds")
    copies: snapshots.DatabaseCopies = (
        request.getfixturevalue("postgres_server")
        if _on_postgres()
        else snapshots.SqliteCopies(kept)
    )
    return snapshots.Snapshots(engine, tmp_path, copies, kept)


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


# --- Redis: a database claimed for the run ----------------------------------------------------

CLAIM = "qinqing:test:claim"
CLAIM_SECONDS = 6 * 3600
"""A crashed run's claim frees its database after this long."""


def _database_url(server: str, number: int) -> str:
    parts = urlsplit(server)
    return urlunsplit(parts._replace(path=f"/{number}"))


def _client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)


class RedisDatabase:
    """The Redis database this run uses: the pinned one, or one it claimed (empty when
    claimed); `flush` empties it and keeps the claim."""

    def __init__(self, url: str, *, claimed: bool) -> None:
        self.url = url
        self.claimed = claimed

    def flush(self) -> None:
        client = _client(self.url)
        try:
            pipe = client.pipeline(transaction=True)
            pipe.flushdb()
            if self.claimed:
                pipe.set(CLAIM, RUN, ex=CLAIM_SECONDS)
            pipe.execute()
        finally:
            client.close()

    def release(self) -> None:
        client = _client(self.url)
        try:
            client.flushdb()
        finally:
            client.close()


def _claim_redis() -> RedisDatabase:
    """The pinned QINQING_TEST_REDIS_URL, else the first empty database 1..15 this run could
    claim on the broker's server. Raises redis.RedisError when Redis is not reachable."""
    import redis

    pinned = os.environ.get("QINQING_TEST_REDIS_URL")
    if pinned and int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
        raise redis.RedisError(
            f"QINQING_TEST_REDIS_URL pins one database, which each of the "
            f"{os.environ['PYTEST_XDIST_WORKER_COUNT']} parallel workers would flush under the "
            "others: run with -n 0, or unset it so that each worker claims its own"
        )
    if pinned:
        client = _client(pinned)
        try:
            client.ping()
        finally:
            client.close()
        return RedisDatabase(pinned, claimed=False)
    broker = os.environ.get("QINQING_BROKER_URL", "")
    server = broker if broker.startswith(("redis://", "rediss://")) else DEFAULT_REDIS_URL
    for number in range(1, 16):
        url = _database_url(server, number)
        client = _client(url)
        try:
            if not client.set(CLAIM, RUN, nx=True, ex=CLAIM_SECONDS):
                continue  # another run's
            if client.dbsize() == 1:
                return RedisDatabase(url, claimed=True)
            client.delete(CLAIM)  # someone's data: not ours to flush
        except redis.ResponseError:
            break  # the server has fewer databases
        finally:
            client.close()
    where = urlsplit(server)
    raise redis.RedisError(
        f"no empty Redis database 1..15 to claim on {where.hostname}:{where.port or 6379}; "
        "name one with QINQING_TEST_REDIS_URL"
    )


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: a worker per core, at most four (beyond that the PostgreSQL server, not the
    tests, is what the workers wait for)."""
    return min(os.cpu_count() or 1, 4)


_redis: RedisDatabase | None = None
_redis_failure: str | None = None


@pytest.fixture(scope="session", autouse=True)
def redis_database() -> Iterator[None]:
    """With a Redis broker configured (the second CI run), claim this run's database at once
    and point QINQING_BROKER_URL at it, so that no test (nor a server or worker it starts)
    reaches the configured database; otherwise claim it when a test first asks."""
    global _redis
    broker = os.environ.get("QINQING_BROKER_URL")
    patch = pytest.MonkeyPatch()
    if broker and broker.startswith(("redis://", "rediss://")):
        claimed = _redis_or_reason()
        if isinstance(claimed, RedisDatabase):  # else unreachable: tests needing it skip or fail
            patch.setenv("QINQING_BROKER_URL", claimed.url)
            get_settings.cache_clear()
    yield
    patch.undo()
    get_settings.cache_clear()
    if _redis is not None:
        _redis.release()
        _redis = None


def _redis_or_reason() -> RedisDatabase | str:
    import redis

    global _redis, _redis_failure
    if _redis is None and _redis_failure is None:
        try:
            _redis = _claim_redis()
        except redis.RedisError as exc:
            _redis_failure = f"Redis is not usable: {exc}"
    return _redis if _redis is not None else str(_redis_failure)


@pytest.fixture
def redis_url() -> str:
    """This run's Redis database, flushed first (never database 0 unless pinned there)."""
    claimed = _redis_or_reason()
    if not isinstance(claimed, RedisDatabase):
        _unavailable(claimed)
    claimed.flush()
    return claimed.url


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
    workers.assemble(broker_url="")
    yield
    workers.assemble(broker_url="")


@pytest.fixture(autouse=True)
def full_rate_limits() -> None:
    """Each test starts with full rate-limit buckets. In-process buckets go with their app; with
    a Redis broker (the second CI run) they live in this run's Redis database and would outlast
    a test."""
    url = os.environ.get("QINQING_BROKER_URL", "")
    if not url.startswith(("redis://", "rediss://")) or not isinstance(_redis, RedisDatabase):
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


# --- one owner per lifecycle ------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def ownership_guard() -> Iterator[None]:
    """Every write of a redemption's status, a budget or a flag is watched (`tests.ownership`)."""
    with ownership.guarded():
        yield


@pytest.fixture(autouse=True)
def owned_rows_written_by_their_owner(ownership_guard: None) -> Iterator[None]:
    """A test whose product code wrote those rows from outside `subsidy/redemption/` fails."""
    ownership.take_violations()
    yield
    found = ownership.take_violations()
    if found:
        pytest.fail("only subsidy/redemption/ writes these rows:\n" + "\n".join(found))
