"""The suite touches only what it created: its own databases and its own Redis database."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, text

from subsidy import db
from tests.conftest import CLAIM, RUN, PostgresServer, _client


def test_the_database_is_this_tests_own(engine: Engine, tmp_path: Path) -> None:
    if engine.dialect.name == "postgresql":
        assert (engine.url.database or "").startswith(f"{RUN}_")
    else:
        assert Path(engine.url.database or "") == tmp_path / "qinqing.db"
    db.require_current_schema(engine)  # migrated to the head
    with engine.begin() as connection:  # fresh from the template: nobody's entries
        assert connection.execute(text("SELECT count(*) FROM audit_entry")).scalar_one() == 0
        connection.execute(text("UPDATE audit_head SET hash = :h"), {"h": "f" * 64})
    with engine.connect() as connection:  # a commit is real, seen by the next connection
        assert connection.execute(text("SELECT hash FROM audit_head")).scalar_one() == "f" * 64


def test_a_clone_is_dropped_after_its_test(postgres_server: PostgresServer) -> None:
    with postgres_server.database() as engine:
        name = engine.url.database
        with engine.connect() as connection:  # a connection left open is ended by the drop
            connection.execute(text("SELECT 1"))
            with postgres_server.database() as other:
                assert other.url.database != name
    admin = postgres_server._connect()
    with admin.connect() as connection:
        left = connection.execute(
            text("SELECT count(*) FROM pg_database WHERE datname = :name"), {"name": name}
        )
        assert left.scalar_one() == 0


def test_redis_is_a_claimed_database_never_0(redis_url: str) -> None:
    assert not redis_url.rstrip("/").endswith("/0") or os.environ.get("QINQING_TEST_REDIS_URL")
    client = _client(redis_url)
    try:
        client.set("qinqing:test:probe", "1")
        if not os.environ.get("QINQING_TEST_REDIS_URL"):
            assert client.get(CLAIM) == RUN.encode()
    finally:
        client.close()
    broker = os.environ.get("QINQING_BROKER_URL", "")
    if broker.startswith("redis://"):
        assert broker == redis_url  # the servers and workers tests start use it too
