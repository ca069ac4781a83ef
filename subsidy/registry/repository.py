"""Queries and bulk writes for the registry tables.

Replacing a table is a bulk operation: PostgreSQL's COPY, or one executemany on SQLite, inside the
caller's transaction, so a failure leaves the previous rows in place.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import polars as pl
import psycopg
from sqlalchemy import Connection, func, inspect, select, text
from sqlalchemy import Table as SATable
from sqlmodel import Session, col

from subsidy.progress import NO_PROGRESS, Progress
from subsidy.registry.models import Employee, Enterprise, RegistrySnapshot
from subsidy.registry.schema import ENTERPRISES, Kind, Table

CHUNK_ROWS = 50_000
SQL_TABLES: dict[str, SATable] = {
    "enterprises": Enterprise.__table__,  # type: ignore[attr-defined]
    "employees": Employee.__table__,  # type: ignore[attr-defined]
}


def enterprise_usccs(session: Session) -> pl.Series:
    rows = session.execute(select(col(Enterprise.uscc))).scalars().all()
    return pl.Series("uscc", rows, dtype=pl.String)


def employer_usccs(session: Session) -> pl.Series:
    """The firms that employees in the current registry belong to."""
    rows = session.execute(select(col(Employee.uscc)).distinct()).scalars().all()
    return pl.Series("uscc", rows, dtype=pl.String)


def count_rows(session: Session, table: Table) -> int:
    model = Enterprise if table is ENTERPRISES else Employee
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def district_counts(session: Session) -> list[tuple[str, int, int, int]]:
    """(district, firms, active firms, employees), largest first."""
    staff = (
        select(col(Employee.uscc), func.count().label("n")).group_by(col(Employee.uscc)).subquery()
    )
    district = col(Enterprise.district)
    query = (
        select(
            district,
            func.count(),
            func.count().filter(col(Enterprise.status) == "active"),
            func.coalesce(func.sum(staff.c.n), 0),
        )
        .outerjoin(staff, staff.c.uscc == col(Enterprise.uscc))
        .group_by(district)
        .order_by(func.count().desc(), district)
    )
    return [(d, int(f), int(a), int(e)) for d, f, a, e in session.execute(query).all()]


def latest_snapshot(session: Session, registry: str) -> RegistrySnapshot | None:
    query = (
        select(RegistrySnapshot)
        .where(col(RegistrySnapshot.registry_name) == registry)
        .order_by(col(RegistrySnapshot.id).desc())
        .limit(1)
    )
    return session.execute(query).scalars().first()


def replace_rows(
    session: Session, table: Table, frame: pl.DataFrame, progress: Progress = NO_PROGRESS
) -> None:
    """Make `frame` the table's whole content, in the session's transaction."""
    session.flush()
    connection = session.connection()
    sql_table = SQL_TABLES[table.name]
    progress.stage(f"writing {table.name}", total=frame.height)
    with _indexes_rebuilt_after(connection, sql_table, progress):
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {sql_table.name}"))
            _copy_postgresql(session, sql_table.name, frame, progress)
        else:
            connection.execute(text(f"DELETE FROM {sql_table.name}"))
            # Rows in key order append to the primary-key index instead of splitting its pages.
            _insert_many(session, sql_table.name, table, frame.sort(table.key), progress)


@contextmanager
def _indexes_rebuilt_after(
    connection: Connection, sql_table: SATable, progress: Progress
) -> Iterator[None]:
    """Load without secondary indexes (and without the primary key on PostgreSQL), then build
    them once: one sorted build is many times faster than two million scattered insertions.
    DDL is transactional on both databases, so a failed load leaves every index as it was."""
    indexes = list(sql_table.indexes)
    for index in indexes:
        index.drop(connection)
    primary_key = None
    if connection.dialect.name == "postgresql":
        primary_key = inspect(connection).get_pk_constraint(sql_table.name)["name"]
        connection.execute(text(f"ALTER TABLE {sql_table.name} DROP CONSTRAINT {primary_key}"))
    yield
    progress.stage(f"indexing {sql_table.name}")
    if primary_key is not None:
        keys = ", ".join(c.name for c in sql_table.primary_key.columns)
        connection.execute(
            text(f"ALTER TABLE {sql_table.name} ADD CONSTRAINT {primary_key} PRIMARY KEY ({keys})")
        )
    for index in indexes:
        index.create(connection)


def _copy_postgresql(session: Session, name: str, frame: pl.DataFrame, progress: Progress) -> None:
    driver = session.connection().connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    columns = ", ".join(frame.columns)
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {name} ({columns}) FROM STDIN (FORMAT csv)") as copy,
    ):
        for chunk in frame.iter_slices(CHUNK_ROWS):
            copy.write(chunk.write_csv(include_header=False).encode())
            progress.advance(chunk.height)


def _insert_many(
    session: Session, name: str, table: Table, frame: pl.DataFrame, progress: Progress
) -> None:
    # The values SQLAlchemy's types would bind on SQLite: ISO dates, 0/1, money as integer fen.
    stored = frame.with_columns(
        [_as_sqlite(c.name, c.kind) for c in table.columns if c.kind in _SQLITE_KINDS]
    )
    placeholders = ", ".join("?" for _ in stored.columns)
    sql = f"INSERT INTO {name} ({', '.join(stored.columns)}) VALUES ({placeholders})"
    dbapi = session.connection().connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        for chunk in stored.iter_slices(CHUNK_ROWS):
            cursor.executemany(sql, chunk.rows())
            progress.advance(chunk.height)
    finally:
        cursor.close()


_SQLITE_KINDS = (Kind.DATE, Kind.BOOL, Kind.MONEY)


def _as_sqlite(name: str, kind: Kind) -> pl.Expr:
    column = pl.col(name)
    match kind:
        case Kind.DATE:
            return column.cast(pl.String)
        case Kind.BOOL:
            return column.cast(pl.Int8)
        case _:
            return (column * 100).cast(pl.Int64)
