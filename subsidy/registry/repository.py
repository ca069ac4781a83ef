"""Queries and bulk writes for the registry tables.

Replacing a table is a bulk operation: PostgreSQL's COPY, or one executemany on SQLite, inside the
caller's transaction, so a failure leaves the previous rows in place.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Table as SATable
from sqlalchemy import func, select, text
from sqlmodel import Session, col

from subsidy import bulk
from subsidy.progress import NO_PROGRESS, Progress
from subsidy.registry.models import (
    Employee,
    Enterprise,
    RegistryDeclaration,
    RegistrySnapshot,
    SourceRow,
)
from subsidy.registry.schema import ENTERPRISES, Table

SQL_TABLES: dict[str, SATable] = {
    "enterprises": Enterprise.__table__,  # type: ignore[attr-defined]
    "employees": Employee.__table__,  # type: ignore[attr-defined]
}
SOURCE_ROWS: SATable = SourceRow.__table__  # type: ignore[attr-defined]


def enterprise_usccs(session: Session) -> pl.Series:
    rows = session.execute(select(col(Enterprise.uscc))).scalars().all()
    return pl.Series("uscc", rows, dtype=pl.String)


def person_ids(session: Session) -> pl.Series:
    """Every employee of the current registry (the keys a person-keyed source may name)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return bulk.read_column(connection, "SELECT person_id FROM employee", "person_id")
    rows = session.execute(select(col(Employee.person_id))).scalars().all()
    return pl.Series("person_id", rows, dtype=pl.String)


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
    with bulk.indexes_rebuilt_after(connection, sql_table, progress):
        emptying = "TRUNCATE" if connection.dialect.name == "postgresql" else "DELETE FROM"
        connection.execute(text(f"{emptying} {sql_table.name}"))
        bulk.insert_frame(connection, sql_table, frame, progress)


def firm(session: Session, uscc: str) -> tuple[Enterprise, list[Employee]] | None:
    """One firm of the current registry with its employees (indexed lookups)."""
    enterprise = session.get(Enterprise, uscc)
    if enterprise is None:
        return None
    staff = session.execute(select(Employee).where(col(Employee.uscc) == uscc)).scalars().all()
    return enterprise, list(staff)


def count_source_rows(session: Session, source: str) -> int:
    query = select(func.count()).select_from(SourceRow).where(col(SourceRow.source) == source)
    return int(session.execute(query).scalar_one())


def replace_source_rows(
    session: Session, source: str, frame: pl.DataFrame, progress: Progress = NO_PROGRESS
) -> None:
    """Make `frame` (`key`, `data`) the declared source's whole content, in the session's
    transaction; the other sources' rows stay as they are."""
    session.flush()
    connection = session.connection()
    rows = frame.select(pl.lit(source, dtype=pl.String).alias("source"), "key", "data")
    progress.stage(f"writing {source}", total=rows.height)
    with bulk.indexes_rebuilt_after(connection, SOURCE_ROWS, progress):
        connection.execute(SOURCE_ROWS.delete().where(SOURCE_ROWS.c.source == source))
        bulk.insert_frame(connection, SOURCE_ROWS, rows, progress)


def firm_source_data(session: Session, source: str, uscc: str) -> str | None:
    """The JSON `data` a firm-keyed source holds for the firm, None when it has no row."""
    found = session.get(SourceRow, (source, uscc))
    return None if found is None else found.data


def staff_source_data(session: Session, source: str, uscc: str) -> dict[str, str]:
    """{person_id: JSON data} of a person-keyed source for the firm's employees that it has
    rows for (one indexed join: the firm's employees, then the source's primary key)."""
    query = (
        select(col(SourceRow.key), col(SourceRow.data))
        .join(Employee, col(Employee.person_id) == col(SourceRow.key))
        .where(col(SourceRow.source) == source, col(Employee.uscc) == uscc)
    )
    return {str(key): str(data) for key, data in session.execute(query).all()}


def declaration(session: Session, version: int) -> RegistryDeclaration | None:
    query = select(RegistryDeclaration).where(col(RegistryDeclaration.version) == version)
    return session.execute(query).scalars().first()
