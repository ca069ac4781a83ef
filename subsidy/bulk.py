"""Bulk writes of polars frames into tables, inside the caller's transaction.

PostgreSQL gets COPY; SQLite one `executemany` of the values SQLAlchemy's column types would
bind (ISO dates, 0/1 flags, money as integer fen, naive UTC timestamps). Both run on the session's
own connection, so a failure rolls back with everything else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import polars as pl
import psycopg
from sqlalchemy import Boolean, Connection, Date, inspect, text
from sqlalchemy import Table as SATable

from subsidy.db import Money, UTCDateTime
from subsidy.progress import NO_PROGRESS, Progress
from subsidy.settings import get_settings


def insert_frame(
    connection: Connection, table: SATable, frame: pl.DataFrame, progress: Progress = NO_PROGRESS
) -> None:
    """Append the frame's rows; its columns are named as the table's."""
    if connection.dialect.name == "postgresql":
        _copy(connection, table.name, frame, progress)
    else:
        _insert_many(connection, table, frame, progress)


@contextmanager
def indexes_rebuilt_after(
    connection: Connection, table: SATable, progress: Progress = NO_PROGRESS
) -> Iterator[None]:
    """Load without secondary indexes (and, on PostgreSQL, without the primary key and foreign
    keys), then build them once: one sorted build is many times faster than millions of
    scattered insertions, and one join checks every foreign key at once instead of a trigger per
    row. DDL is transactional on both databases, so a failed load leaves everything as it was."""
    indexes = list(table.indexes)
    for index in indexes:
        index.drop(connection)
    restore: list[str] = []
    if connection.dialect.name == "postgresql":
        restore = _drop_constraints(connection, table.name)
    yield
    progress.stage(f"indexing {table.name}")
    for statement in restore:
        connection.execute(text(statement))
    for index in indexes:
        index.create(connection)


def _drop_constraints(connection: Connection, name: str) -> list[str]:
    """Drop the table's primary and foreign keys; return the statements that restore them."""
    inspector = inspect(connection)
    restore = []
    primary = inspector.get_pk_constraint(name)
    if primary.get("name"):
        keys = ", ".join(primary["constrained_columns"])
        restore.append(f"ALTER TABLE {name} ADD CONSTRAINT {primary['name']} PRIMARY KEY ({keys})")
    for foreign in inspector.get_foreign_keys(name):
        columns = ", ".join(foreign["constrained_columns"])
        referred = ", ".join(foreign["referred_columns"])
        restore.append(
            f"ALTER TABLE {name} ADD CONSTRAINT {foreign['name']} FOREIGN KEY ({columns}) "
            f"REFERENCES {foreign['referred_table']} ({referred})"
        )
    for constraint in [primary, *inspector.get_foreign_keys(name)]:
        if constraint.get("name"):
            connection.execute(text(f"ALTER TABLE {name} DROP CONSTRAINT {constraint['name']}"))
    return restore


def read_column(connection: Connection, query: str, name: str) -> pl.Series:
    """One text column of a PostgreSQL query, through COPY: millions of values in a second,
    where fetching them as Python rows takes several."""
    driver = connection.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    buffer = bytearray()
    with driver.cursor() as cursor, cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)") as copy:
        for block in copy:
            buffer += block
    if not buffer:
        return pl.Series(name, [], dtype=pl.String)
    frame = pl.read_csv(bytes(buffer), has_header=False, new_columns=[name], infer_schema=False)
    return frame.to_series()


def _copy(connection: Connection, name: str, frame: pl.DataFrame, progress: Progress) -> None:
    driver = connection.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    columns = ", ".join(f'"{c}"' for c in frame.columns)  # quoted: a column may be `offset`
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {name} ({columns}) FROM STDIN (FORMAT csv)") as copy,
    ):
        for chunk in frame.iter_slices(get_settings().bulk_chunk_rows):
            copy.write(chunk.write_csv(include_header=False).encode())
            progress.advance(chunk.height)


def _insert_many(
    connection: Connection, table: SATable, frame: pl.DataFrame, progress: Progress
) -> None:
    # SQLite cannot drop a primary key; rows in key order append to its index instead of
    # splitting pages all over it.
    keys = [c.name for c in table.primary_key.columns if c.name in frame.columns]
    if keys:
        frame = frame.sort(keys)
    stored = frame.with_columns(_sqlite_value(table, name) for name in frame.columns)
    placeholders = ", ".join("?" for _ in stored.columns)
    columns = ", ".join(f'"{c}"' for c in stored.columns)
    sql = f"INSERT INTO {table.name} ({columns}) VALUES ({placeholders})"
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for chunk in stored.iter_slices(get_settings().bulk_chunk_rows):
            cursor.executemany(sql, chunk.rows())
            progress.advance(chunk.height)
    finally:
        cursor.close()


def _sqlite_value(table: SATable, name: str) -> pl.Expr:
    """The column as SQLite stores it through our SQLAlchemy types."""
    column = pl.col(name)
    kind = table.c[name].type
    if isinstance(kind, Money):
        return (column * 100).cast(pl.Int64)
    if isinstance(kind, UTCDateTime):
        naive = column.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return naive.dt.strftime("%Y-%m-%d %H:%M:%S%.6f")
    if isinstance(kind, Date):
        return column.cast(pl.String)
    if isinstance(kind, Boolean):
        return column.cast(pl.Int8)
    return column
