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
from subsidy.registry.models import Employee, Enterprise, RegistrySnapshot
from subsidy.registry.schema import ENTERPRISES, Table

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
