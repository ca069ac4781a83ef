"""Importing registries: all-or-nothing, snapshots, reproducible Parquet copies."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from subsidy import db
from subsidy.registry import service
from subsidy.registry.errors import RegistryError, RegistryValidationError
from subsidy.registry.models import Employee, Enterprise, RegistrySnapshot
from subsidy.registry.reader import read_source
from subsidy.registry.schema import EMPLOYEES, ENTERPRISES, Table
from subsidy.registry.validation import validate
from tests.subsidy.factories import (
    employee,
    enterprise,
    firms,
    make_uscc,
    staff,
    write_csv,
    write_xlsx,
)


def load(engine: Engine, table: Table, path: Path, data_dir: Path) -> RegistrySnapshot:
    with db.session_scope(engine) as session:
        return service.import_file(session, table, path, data_dir=data_dir)


def registry_state(engine: Engine) -> tuple[object, ...]:
    """Everything an import may touch, to prove a refused one touched nothing."""
    with Session(engine) as session:
        return (
            session.execute(select(Enterprise).order_by(col(Enterprise.uscc))).scalars().all(),
            session.execute(select(Employee).order_by(col(Employee.person_id))).scalars().all(),
            session.execute(select(col(RegistrySnapshot.id)).order_by(col(RegistrySnapshot.id)))
            .scalars()
            .all(),
        )


@pytest.fixture
def loaded(engine: Engine, data_dir: Path, tmp_path: Path) -> Engine:
    """A registry of 20 firms and 60 employees, imported from CSV."""
    load(engine, ENTERPRISES, write_csv(tmp_path / "firms.csv", firms(20)), data_dir)
    load(engine, EMPLOYEES, write_csv(tmp_path / "staff.csv", staff(60, 20)), data_dir)
    return engine


def test_import_stores_rows_and_a_snapshot(loaded: Engine, data_dir: Path) -> None:
    with Session(loaded) as session:
        statuses = {s.registry: s for s in service.status(session)}
    assert statuses["enterprises"].rows == 20
    assert statuses["employees"].rows == 60
    snapshot = statuses["employees"].snapshot
    assert snapshot is not None
    assert (snapshot.row_count, snapshot.source_name) == (60, "staff.csv")
    assert len(snapshot.content_hash) == 64


def test_snapshot_parquet_reproduces_the_stored_rows(loaded: Engine, data_dir: Path) -> None:
    with Session(loaded) as session:
        snapshot = service.status(session)[0].snapshot
        assert snapshot is not None
        stored = session.execute(select(Enterprise).order_by(col(Enterprise.uscc))).scalars().all()
    kept = service.snapshot_frame(data_dir, snapshot).sort("uscc")
    assert kept.schema == ENTERPRISES.polars_schema
    assert kept.to_dicts() == [firm.model_dump() for firm in stored]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_each_format_imports_the_same_rows(
    engine: Engine, data_dir: Path, tmp_path: Path, fmt: str
) -> None:
    rows = [*firms(11), enterprise(12, revenue="0.10", tax_paid="", bank_account="")]
    csv_path = write_csv(tmp_path / "firms.csv", rows)
    expected = validate(read_source(csv_path), ENTERPRISES, "firms.csv").sort("uscc")
    path = {
        "csv": csv_path,
        "xlsx": write_xlsx(tmp_path / "firms.xlsx", rows, ENTERPRISES),
        "parquet": tmp_path / "firms.parquet",
    }[fmt]
    expected.write_parquet(tmp_path / "firms.parquet")
    load(engine, ENTERPRISES, path, data_dir)
    with Session(engine) as session:
        stored = session.execute(select(Enterprise).order_by(col(Enterprise.uscc))).scalars().all()
    assert [firm.model_dump() for firm in stored] == expected.to_dicts()


def test_reimport_replaces_the_table(loaded: Engine, data_dir: Path, tmp_path: Path) -> None:
    fewer = [enterprise(i, name=f"renamed {i}") for i in range(1, 21)]
    load(loaded, ENTERPRISES, write_csv(tmp_path / "v2.csv", fewer), data_dir)
    with Session(loaded) as session:
        names = session.execute(select(col(Enterprise.name))).scalars().all()
        snapshots = session.execute(select(col(RegistrySnapshot.id))).scalars().all()
    assert sorted(names) == sorted(f"renamed {i}" for i in range(1, 21))
    assert len(snapshots) == 3


BAD_FILES = [
    (ENTERPRISES, "uscc", make_uscc(3)[:-1] + "Z"),
    (ENTERPRISES, "established", "2020-13-01"),
    (ENTERPRISES, "revenue", "-10"),
    (ENTERPRISES, "size", "gigantic"),
    (ENTERPRISES, "uscc", make_uscc(2)),  # a duplicate
    (EMPLOYEES, "uscc", make_uscc(999)),  # a firm not in the registry
    (EMPLOYEES, "person_id", "P000000000000001"),  # a duplicate
    (EMPLOYEES, "hire_date", "yesterday"),
    (EMPLOYEES, "monthly_wage", "-1.00"),
]


@pytest.mark.parametrize(("table", "column", "value"), BAD_FILES)
def test_a_refused_import_leaves_the_registry_as_it_was(
    loaded: Engine, data_dir: Path, tmp_path: Path, table: Table, column: str, value: str
) -> None:
    before = registry_state(loaded)
    parquet_files = sorted(data_dir.rglob("*"))
    rows = firms(20) if table is ENTERPRISES else staff(60, 20)
    rows[9] = rows[9] | {column: value}
    with pytest.raises(RegistryValidationError) as refused:
        load(loaded, table, write_csv(tmp_path / "bad.csv", rows), data_dir)
    assert [(p.row, p.column) for p in refused.value.problems] == [(11, column)]
    assert registry_state(loaded) == before
    assert sorted(data_dir.rglob("*")) == parquet_files


def test_a_failure_while_writing_rolls_everything_back(
    loaded: Engine, data_dir: Path, tmp_path: Path
) -> None:
    before = registry_state(loaded)

    class DiskFull:
        def stage(self, name: str, total: int | None = None) -> None:
            pass

        def advance(self, units: int) -> None:
            raise OSError("disk full")

    path = write_csv(tmp_path / "v2.csv", [enterprise(i, name="v2") for i in range(1, 21)])
    with pytest.raises(OSError, match="disk full"), db.session_scope(loaded) as session:
        service.import_file(session, ENTERPRISES, path, data_dir=data_dir, progress=DiskFull())
    assert registry_state(loaded) == before


def test_dropping_a_firm_that_still_has_employees_is_refused(
    loaded: Engine, data_dir: Path, tmp_path: Path
) -> None:
    before = registry_state(loaded)
    with pytest.raises(RegistryValidationError) as refused:
        load(loaded, ENTERPRISES, write_csv(tmp_path / "e.csv", firms(19)), data_dir)
    (problem,) = refused.value.problems
    assert make_uscc(20) in problem.message
    assert "qinqing import registry" in problem.message
    assert registry_state(loaded) == before


def test_both_registries_can_be_replaced_together(
    loaded: Engine, data_dir: Path, tmp_path: Path
) -> None:
    new_firms = [enterprise(i) for i in range(100, 105)]
    new_staff = [employee(i, firm=100 + i % 5) for i in range(1, 11)]
    with db.session_scope(loaded) as session:
        service.import_registry(
            session,
            write_csv(tmp_path / "e.csv", new_firms),
            write_csv(tmp_path / "p.csv", new_staff),
            data_dir=data_dir,
        )
    with Session(loaded) as session:
        counts = {s.registry: s.rows for s in service.status(session)}
    assert counts == {"enterprises": 5, "employees": 10}


def test_employees_of_a_firm_in_the_other_file_only_are_refused_together(
    loaded: Engine, data_dir: Path, tmp_path: Path
) -> None:
    before = registry_state(loaded)
    strangers = [employee(1, firm=500)]
    with pytest.raises(RegistryError), db.session_scope(loaded) as session:
        service.import_registry(
            session,
            write_csv(tmp_path / "e.csv", firms(20)),
            write_csv(tmp_path / "p.csv", strangers),
            data_dir=data_dir,
        )
    assert registry_state(loaded) == before


@pytest.mark.postgres
def test_postgresql_import_uses_copy_and_keeps_every_value(
    pg_engine: Engine, data_dir: Path, tmp_path: Path
) -> None:
    rows = [*firms(30), enterprise(31, name='He said "hi", then left\nline two', bank_account="")]
    snapshot = load(pg_engine, ENTERPRISES, write_csv(tmp_path / "e.csv", rows), data_dir)
    kept = service.snapshot_frame(data_dir, snapshot).sort("uscc")
    with Session(pg_engine) as session:
        stored = session.execute(select(Enterprise).order_by(col(Enterprise.uscc))).scalars().all()
    assert [firm.model_dump() for firm in stored] == kept.to_dicts()
    assert stored[-1].name == 'He said "hi", then left\nline two'
    assert stored[-1].bank_account is None
