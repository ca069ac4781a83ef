"""Alembic environment: the engine comes from `subsidy.db.alembic_config`, never from a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

engine: Engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
