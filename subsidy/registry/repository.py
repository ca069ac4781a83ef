"""Queries and bulk writes for the registry tables.

Replacing a table is a bulk operation: PostgreSQL's COPY, or one executemany on SQLite, inside the
caller's transaction, so a failure leaves the previous rows in place.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import Table as SATable
from sqlalchemy import func, select, text
from sqlmodel import Session, col

from subsidy import bulk
from subsidy.progress import NO_PROGRESS, Progress
from subsidy.registry.catalog import Catalog, Source
from subsidy.registry.models import Employee, Enterprise, RegistrySnapshot, SourceRow
from subsidy.registry.schema import ENTERPRISES, Column, Kind, Table

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


def declared_values(
    session: Session, catalog: Catalog, uscc: str, person_ids: Sequence[str]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The declared columns of one firm and of its employees, typed by their kinds: (the firm's
    values, {person_id: that person's values}). A firm or person a source has no row for reads
    None for each of its columns (indexed look-ups on `source_row`)."""
    firm: dict[str, Any] = {}
    for source in catalog.firm_sources():
        firm |= _typed(source, _source_data(session, source, [uscc]).get(uscc))
    people: dict[str, dict[str, Any]] = {p: {} for p in person_ids}
    for source in catalog.person_sources():
        rows = _source_data(session, source, person_ids)
        for person in person_ids:
            people[person] |= _typed(source, rows.get(person))
    return firm, people


def _source_data(session: Session, source: Source, keys: Sequence[str]) -> dict[str, Any]:
    if not keys:
        return {}
    query = select(SourceRow).where(
        col(SourceRow.source) == source.name, col(SourceRow.key).in_(list(keys))
    )
    return {r.key: json.loads(r.data) for r in session.execute(query).scalars()}


def _typed(source: Source, data: dict[str, Any] | None) -> dict[str, Any]:
    """A stored row's JSON (see `SourceRow`) as the registry's typed values."""
    data = data or {}
    return {c.name: _value(c, data.get(c.name)) for c in source.columns}


def _value(column: Column, raw: Any) -> Any:
    if raw is None:
        return None
    match column.kind:
        case Kind.MONEY | Kind.DECIMAL:  # at the column's scale, as its polars frame holds it
            return Decimal(str(raw)).quantize(Decimal(1).scaleb(-column.dtype.scale))  # type: ignore[attr-defined]
        case Kind.INTEGER:
            return int(raw)
        case Kind.DATE:
            return dt.date.fromisoformat(raw)
        case _:
            return raw
