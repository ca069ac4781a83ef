"""Importing registry files: read, validate everything, keep the Parquet copy, replace the table.

All-or-nothing: every check runs before the first write, and the writes happen in the caller's
transaction (the service only flushes), so a refused or failed import leaves the registry as it was.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from sqlmodel import Session

from subsidy.progress import NO_PROGRESS, Progress
from subsidy.registry import repository
from subsidy.registry.catalog import BUILTIN, Catalog
from subsidy.registry.catalog import current as current_catalog
from subsidy.registry.errors import Problem, RegistryError, RegistryValidationError
from subsidy.registry.models import RegistrySnapshot
from subsidy.registry.reader import read_source
from subsidy.registry.schema import EMPLOYEES, ENTERPRISES, Table
from subsidy.registry.validation import validate

ORPHAN_EXAMPLES = 5


@dataclass(frozen=True)
class RegistryStatus:
    registry: str
    rows: int
    snapshot: RegistrySnapshot | None


def import_file(
    session: Session,
    table: Table,
    path: Path,
    *,
    data_dir: Path,
    progress: Progress = NO_PROGRESS,
) -> RegistrySnapshot:
    """Replace `table` with the rows of `path` as a new snapshot, or raise RegistryError."""
    known = repository.enterprise_usccs(session) if table is EMPLOYEES else None
    frame = _checked(path, table, known, progress)
    if table is ENTERPRISES:
        _refuse_orphaned_employees(session, frame, path.name)
    return _replace(session, table, frame, path, data_dir, progress)


def import_registry(
    session: Session,
    enterprises: Path,
    employees: Path,
    *,
    data_dir: Path,
    progress: Progress = NO_PROGRESS,
) -> tuple[RegistrySnapshot, RegistrySnapshot]:
    """Replace both registries at once: employees are checked against the new enterprise file."""
    firms = validate(read_source(enterprises), ENTERPRISES, enterprises.name)
    people = validate(read_source(employees), EMPLOYEES, employees.name, known_usccs=firms["uscc"])
    return (
        _replace(session, ENTERPRISES, firms, enterprises, data_dir, progress),
        _replace(session, EMPLOYEES, people, employees, data_dir, progress),
    )


def _checked(
    path: Path, table: Table, known_usccs: pl.Series | None, progress: Progress
) -> pl.DataFrame:
    progress.stage(f"reading {path.name}")
    raw = read_source(path)
    progress.stage(f"checking {raw.height:,} {table.name}")
    return validate(raw, table, path.name, known_usccs=known_usccs)


def _replace(
    session: Session,
    table: Table,
    frame: pl.DataFrame,
    path: Path,
    data_dir: Path,
    progress: Progress,
) -> RegistrySnapshot:
    content_hash = _sha256(path)
    parquet = _keep_parquet(frame, data_dir, table, content_hash)
    repository.replace_rows(session, table, frame, progress)
    snapshot = RegistrySnapshot(
        registry_name=table.name,
        source_name=path.name,
        content_hash=content_hash,
        row_count=frame.height,
        parquet_file=parquet.relative_to(data_dir).as_posix(),
    )
    session.add(snapshot)
    session.flush()
    return snapshot


@dataclass(frozen=True)
class DistrictSummary:
    district: str
    firms: int
    active: int
    employees: int


def district_summary(session: Session) -> list[DistrictSummary]:
    return [DistrictSummary(*row) for row in repository.district_counts(session)]


def status(session: Session) -> list[RegistryStatus]:
    return [
        RegistryStatus(
            t.name, repository.count_rows(session, t), repository.latest_snapshot(session, t.name)
        )
        for t in (ENTERPRISES, EMPLOYEES)
    ]


def snapshot_frame(data_dir: Path, snapshot: RegistrySnapshot) -> pl.DataFrame:
    """The exact rows a snapshot accepted, from its immutable Parquet file."""
    return pl.read_parquet(data_dir / snapshot.parquet_file)


@dataclass(frozen=True)
class RegistryFrames:
    """The current registry as polars frames, with the snapshots they are."""

    enterprises: pl.DataFrame
    """One row per firm: every column of `catalog.firm_columns` (declared ones null where the
    source has no row for the firm)."""
    employees: pl.DataFrame
    """One row per employee: `uscc` and every column of `catalog.employee_columns`."""
    enterprise_snapshot: RegistrySnapshot
    employee_snapshot: RegistrySnapshot
    catalog: Catalog = BUILTIN
    """The declaration the frames were read under."""
    source_snapshots: Mapping[str, RegistrySnapshot] = field(default_factory=dict)
    """The snapshot of every declared source the frames joined, by source name (a declared
    source never imported is absent here and reads null)."""


def current_frames(session: Session, data_dir: Path) -> RegistryFrames:
    """The registry as of its latest imports, read from the snapshots' Parquet copies."""
    firms = repository.latest_snapshot(session, ENTERPRISES.name)
    people = repository.latest_snapshot(session, EMPLOYEES.name)
    if firms is None or people is None:
        missing = ENTERPRISES.name if firms is None else EMPLOYEES.name
        raise RegistryError(code="registry.not_imported", table=missing)
    return RegistryFrames(
        snapshot_frame(data_dir, firms),
        snapshot_frame(data_dir, people),
        firms,
        people,
        catalog=current_catalog(session),
    )


def _refuse_orphaned_employees(session: Session, frame: pl.DataFrame, source: str) -> None:
    """An enterprise file may not drop a firm that employees in the registry still belong to."""
    employers = repository.employer_usccs(session)
    orphaned = employers.filter(employers.is_in(frame["uscc"].implode()).not_()).sort()
    if orphaned.is_empty():
        return
    examples = ", ".join(orphaned.head(ORPHAN_EXAMPLES).to_list())
    raise RegistryValidationError(
        source,
        [
            Problem(
                source,
                None,
                "uscc",
                None,
                f"{orphaned.len()} firms with employees in the current registry are missing "
                f"from this file (e.g. {examples}); keep them (a closed firm is status "
                "deregistered), or replace both registries at once with "
                "`qinqing import registry ENTERPRISES EMPLOYEES`",
            )
        ],
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _keep_parquet(frame: pl.DataFrame, data_dir: Path, table: Table, content_hash: str) -> Path:
    """Write the accepted rows once, atomically; the same source file always maps to one copy."""
    target = data_dir / "snapshots" / f"{table.name}-{content_hash}.parquet"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.partial")
    frame.write_parquet(partial, statistics=True)
    partial.replace(target)
    return target
