"""Alembic environment: the engine comes from `subsidy.db.alembic_config`, never from a file.

On SQLite, batch migrations rebuild a table (copy, drop, rename). Dropping a table that other rows
reference fails while foreign keys are enforced, so the migrations run with enforcement off and
every reference is checked before the transaction commits (as Alembic's batch guide advises).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, Engine

engine: Engine = context.config.attributes["engine"]


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()


def _migrate_sqlite(connection: Connection) -> None:
    # The pragma is a no-op inside a transaction: set it before the migration's transaction begins.
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    connection.commit()
    try:
        with connection.begin():
            _migrate(connection)
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migration left rows with broken references: {broken[:5]}")
    finally:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


if engine.dialect.name == "sqlite":
    with engine.connect() as connection:
        _migrate_sqlite(connection)
else:
    with engine.begin() as connection:
        _migrate(connection)
