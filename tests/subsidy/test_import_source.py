"""Importing a declared source (issue 15): every cell checked by its declared type, every key a
registered firm or employee and only once, all or nothing; the current frames join its columns
(null where it has no row, or was never imported), and one firm's look-up gives the same values."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from subsidy import db
from subsidy.registry import service
from subsidy.registry.catalog import Catalog, Source, SourceKey, canonical_json, to_content
from subsidy.registry.errors import RegistryError, RegistryValidationError
from subsidy.registry.models import RegistryDeclaration, RegistrySnapshot, SourceRow
from subsidy.registry.schema import EMPLOYEES, ENTERPRISES, Column, Kind
from tests.commands import qinqing, wide_terminal  # noqa: F401 (an autouse fixture)
from tests.subsidy.factories import firms, make_uscc, staff, write_csv, write_xlsx

FIRMS, PEOPLE = 6, 12


def _tax_columns(*extra: Column) -> tuple[Column, ...]:
    return (
        Column("rd_expense", Kind.MONEY, nullable=True, source="tax", label_zh="研发费用"),
        Column("patents", Kind.INTEGER, nullable=True, source="tax", label_en="Patents"),
        Column("rd_share", Kind.DECIMAL, nullable=True, scale=3, source="tax"),
        Column("certified_on", Kind.DATE, nullable=True, source="tax"),
        Column("listed", Kind.BOOL, nullable=True, source="tax"),
        Column("grade", Kind.TEXT, nullable=False, max_length=8, source="tax"),
        *extra,
    )


TAX = Source("tax", "Hangzhou Municipal Tax Service", SourceKey.USCC, _tax_columns())
INSURANCE = Source(
    "social-insurance",
    "Hangzhou Human Resources and Social Security Bureau",
    SourceKey.PERSON_ID,
    (Column("months_insured_2019", Kind.INTEGER, source="social-insurance"),),
)
CATALOG = Catalog(1, (TAX, INSURANCE))


def declare(engine: Engine, catalog: Catalog) -> None:
    """Put `catalog` in force as the `declare` command would (its version, its content)."""
    content = canonical_json(to_content(catalog))
    with db.session_scope(engine) as session:
        session.add(
            RegistryDeclaration(
                version=catalog.version,
                document="# test",
                content=content,
                content_hash="0" * 64,
                declared_by="test:officer",
            )
        )


def tax_row(firm: int, **overrides: str) -> dict[str, str]:
    row = {
        "uscc": make_uscc(firm),
        "rd_expense": f"{firm * 1000}.50",
        "patents": str(firm),
        "rd_share": "0.035",
        "certified_on": "2019-06-30",
        "listed": "true" if firm % 2 else "false",
        "grade": "A",
    }
    return row | overrides


def insurance_row(person: int, months: str = "12") -> dict[str, str]:
    return {"person_id": f"P{person:015d}", "months_insured_2019": months}


@pytest.fixture
def registry(engine: Engine, data_dir: Path, tmp_path: Path) -> Engine:
    """6 firms, 12 employees, and the tax and social-insurance sources declared."""
    with db.session_scope(engine) as session:
        for table, rows, name in (
            (ENTERPRISES, firms(FIRMS), "firms.csv"),
            (EMPLOYEES, staff(PEOPLE, FIRMS), "staff.csv"),
        ):
            path = write_csv(tmp_path / name, rows)
            service.import_file(session, table, path, data_dir=data_dir)
    declare(engine, CATALOG)
    return engine


def load(engine: Engine, name: str, path: Path, data_dir: Path) -> RegistrySnapshot:
    with db.session_scope(engine) as session:
        return service.import_source(session, name, path, data_dir=data_dir)


def state(engine: Engine, data_dir: Path) -> tuple[object, ...]:
    """Everything a source import may touch, to prove a refused one touched nothing."""
    with Session(engine) as session:
        rows = session.execute(
            select(col(SourceRow.source), col(SourceRow.key), col(SourceRow.data)).order_by(
                col(SourceRow.source), col(SourceRow.key)
            )
        ).all()
        snapshots = session.execute(
            select(col(RegistrySnapshot.id), col(RegistrySnapshot.registry_name))
        ).all()
    files = sorted(p.name for p in (data_dir / "snapshots").iterdir())
    return rows, snapshots, files


def stored(engine: Engine, source: str) -> dict[str, dict[str, Any]]:
    with Session(engine) as session:
        query = select(SourceRow).where(col(SourceRow.source) == source)
        return {r.key: json.loads(r.data) for r in session.execute(query).scalars()}


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_a_source_file_imports_in_each_format(
    registry: Engine, data_dir: Path, tmp_path: Path, fmt: str
) -> None:
    rows = [tax_row(1), tax_row(2, rd_expense="", patents="", rd_share="", listed="")]
    path = tmp_path / f"tax.{fmt}"
    if fmt == "csv":
        write_csv(path, rows)
    elif fmt == "xlsx":
        write_xlsx(path, rows, TAX.table)
    else:
        pl.DataFrame(rows).write_parquet(path)
    snapshot = load(registry, "tax", path, data_dir)
    assert (snapshot.registry_name, snapshot.row_count, snapshot.source_name) == (
        "tax",
        2,
        path.name,
    )
    assert snapshot.declaration_version == 1
    assert (data_dir / snapshot.parquet_file).is_file()
    assert stored(registry, "tax") == {
        make_uscc(1): {
            "rd_expense": "1000.50",
            "patents": 1,
            "rd_share": "0.035",
            "certified_on": "2019-06-30",
            "listed": True,
            "grade": "A",
        },
        make_uscc(2): {
            "rd_expense": None,
            "patents": None,
            "rd_share": None,
            "certified_on": "2019-06-30",
            "listed": None,
            "grade": "A",
        },
    }


def test_a_person_source_imports_by_person_id(
    registry: Engine, data_dir: Path, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "si.csv", [insurance_row(1), insurance_row(2, "+3")])
    load(registry, "social-insurance", path, data_dir)
    assert stored(registry, "social-insurance") == {
        "P000000000000001": {"months_insured_2019": 12},
        "P000000000000002": {"months_insured_2019": 3},
    }


REFUSALS = [
    ("bad integer", "tax", [tax_row(1, patents="2.5")], (2, "patents", "2.5", "whole number")),
    ("bad money", "tax", [tax_row(1, rd_expense="1.005")], (2, "rd_expense", "1.005", "yuan")),
    ("negative money", "tax", [tax_row(1, rd_expense="-1")], (2, "rd_expense", "-1", "negative")),
    ("bad decimal", "tax", [tax_row(1, rd_share="0.0355")], (2, "rd_share", "0.0355", "decimals")),
    ("bad date", "tax", [tax_row(1, certified_on="30/06/2019")], (2, "certified_on", None, "date")),
    ("bad bool", "tax", [tax_row(1, listed="maybe")], (2, "listed", "maybe", "true or false")),
    ("missing required", "tax", [tax_row(1), tax_row(2, grade="")], (3, "grade", None, "required")),
    (
        "unknown firm",
        "tax",
        [tax_row(1), tax_row(FIRMS + 5)],
        (3, "uscc", make_uscc(FIRMS + 5), "not in the enterprise registry"),
    ),
    (
        "duplicate firm",
        "tax",
        [tax_row(1), tax_row(2), tax_row(1)],
        (4, "uscc", make_uscc(1), "first on row 2"),
    ),
    (
        "unknown person",
        "social-insurance",
        [insurance_row(1), insurance_row(PEOPLE + 1)],
        (3, "person_id", f"P{PEOPLE + 1:015d}", "not in the employee registry"),
    ),
    (
        "duplicate person",
        "social-insurance",
        [insurance_row(1), insurance_row(1)],
        (3, "person_id", "P000000000000001", "first on row 2"),
    ),
    (
        "missing months",
        "social-insurance",
        [insurance_row(1, "")],
        (2, "months_insured_2019", None, "required"),
    ),
]


@pytest.mark.parametrize(
    ("name", "rows", "expected"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_a_bad_cell_is_refused_by_row_column_and_value_and_nothing_changes(
    registry: Engine,
    data_dir: Path,
    tmp_path: Path,
    name: str,
    rows: list[dict[str, str]],
    expected: tuple[int, str, str | None, str],
) -> None:
    good = [tax_row(1)] if name == "tax" else [insurance_row(1)]
    load(registry, name, write_csv(tmp_path / "good.csv", good), data_dir)
    before = state(registry, data_dir)
    with pytest.raises(RegistryValidationError) as refused:
        load(registry, name, write_csv(tmp_path / "bad.csv", rows), data_dir)
    row, column, value, words = expected
    [problem] = refused.value.problems
    assert (problem.file, problem.row, problem.column) == ("bad.csv", row, column)
    if value is not None:
        assert problem.value == value
    assert words in problem.message
    assert state(registry, data_dir) == before


def test_every_problem_is_collected_before_refusing(
    registry: Engine, data_dir: Path, tmp_path: Path
) -> None:
    rows = [tax_row(1, patents="x"), tax_row(FIRMS + 1), tax_row(FIRMS + 2), tax_row(1)]
    with pytest.raises(RegistryValidationError) as refused:
        load(registry, "tax", write_csv(tmp_path / "bad.csv", rows), data_dir)
    found = [(p.row, p.column) for p in refused.value.problems]
    assert found == [(2, "patents"), (3, "uscc"), (4, "uscc"), (5, "uscc")]
    assert stored(registry, "tax") == {}


@pytest.mark.parametrize(
    ("header", "column", "words"),
    [
        (["uscc", "rd_expense"], "patents", "column is missing"),
        ([*TAX.table.names, "export_revenue"], "export_revenue", "unknown column for tax"),
    ],
)
def test_a_missing_or_extra_column_is_refused(
    registry: Engine,
    data_dir: Path,
    tmp_path: Path,
    header: list[str],
    column: str,
    words: str,
) -> None:
    row = tax_row(1) | {"export_revenue": "5.00"}
    path = write_csv(tmp_path / "bad.csv", [{n: row[n] for n in header}])
    before = state(registry, data_dir)
    with pytest.raises(RegistryValidationError) as refused:
        load(registry, "tax", path, data_dir)
    problems = {(p.row, p.column): p.message for p in refused.value.problems}
    assert words in problems[(1, column)]
    assert state(registry, data_dir) == before


def test_an_undeclared_source_is_refused_naming_the_declared_ones(
    registry: Engine, data_dir: Path, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "rent.csv", [{"uscc": make_uscc(1), "rent": "1.00"}])
    with pytest.raises(RegistryError) as refused:
        load(registry, "rent", path, data_dir)
    assert refused.value.code == "registry.undeclared_source"
    assert "rent" in str(refused.value)
    assert "tax, social-insurance" in str(refused.value)
    assert "qinqing registry declare" in str(refused.value)


def test_with_nothing_declared_the_refusal_says_to_declare_first(
    engine: Engine, data_dir: Path, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "tax.csv", [tax_row(1)])
    with pytest.raises(RegistryError) as refused:
        load(engine, "tax", path, data_dir)
    assert refused.value.code == "registry.no_sources"
    assert "qinqing registry declare" in str(refused.value)


def test_a_new_import_replaces_the_sources_rows_and_no_others(
    registry: Engine, data_dir: Path, tmp_path: Path
) -> None:
    load(registry, "tax", write_csv(tmp_path / "a.csv", [tax_row(1), tax_row(2)]), data_dir)
    load(registry, "social-insurance", write_csv(tmp_path / "s.csv", [insurance_row(3)]), data_dir)
    second = load(registry, "tax", write_csv(tmp_path / "b.csv", [tax_row(3)]), data_dir)
    assert set(stored(registry, "tax")) == {make_uscc(3)}
    assert set(stored(registry, "social-insurance")) == {"P000000000000003"}
    with Session(registry) as session:
        statuses = {s.source.name: s for s in service.source_status(session)}
    assert statuses["tax"].rows == 1
    assert statuses["tax"].snapshot is not None
    assert statuses["tax"].snapshot.id == second.id


def test_the_frames_join_each_sources_columns_null_where_absent(
    registry: Engine, data_dir: Path, tmp_path: Path
) -> None:
    load(registry, "tax", write_csv(tmp_path / "tax.csv", [tax_row(2), tax_row(4)]), data_dir)
    with Session(registry) as session:
        frames = service.current_frames(session, data_dir)
    assert frames.catalog == CATALOG
    assert set(frames.source_snapshots) == {"tax"}
    assert frames.enterprises.columns == [c.name for c in CATALOG.firm_columns]
    assert frames.employees.columns == [*EMPLOYEES.names, "months_insured_2019"]
    assert frames.enterprises.height == FIRMS
    assert frames.employees.height == PEOPLE
    for column in CATALOG.declared_columns:
        frame = frames.enterprises if column.source == "tax" else frames.employees
        assert frame.schema[column.name] == column.dtype
    by_firm = {r["uscc"]: r for r in frames.enterprises.iter_rows(named=True)}
    assert by_firm[make_uscc(2)]["rd_expense"] == Decimal("2000.50")
    assert by_firm[make_uscc(2)]["rd_share"] == Decimal("0.035")
    assert by_firm[make_uscc(4)]["certified_on"] == dt.date(2019, 6, 30)
    assert by_firm[make_uscc(1)]["rd_expense"] is None  # no row in the source
    assert frames.employees["months_insured_2019"].null_count() == PEOPLE  # never imported
    # The firms keep their registry order: a join does not reorder them.
    assert frames.enterprises["uscc"].to_list() == [make_uscc(i) for i in range(1, FIRMS + 1)]


def test_a_later_declaration_reads_added_and_retyped_columns_as_null(
    registry: Engine, data_dir: Path, tmp_path: Path
) -> None:
    load(registry, "tax", write_csv(tmp_path / "tax.csv", [tax_row(1)]), data_dir)
    retyped = tuple(
        Column("patents", Kind.TEXT, nullable=True, source="tax") if c.name == "patents" else c
        for c in _tax_columns(Column("exports", Kind.MONEY, nullable=True, source="tax"))
        if c.name != "listed"
    )
    later = Catalog(2, (Source(TAX.name, TAX.department, TAX.key, retyped), INSURANCE))
    declare(registry, later)
    with Session(registry) as session:
        frames = service.current_frames(session, data_dir)
        one = service.firm_data(session, make_uscc(1))
    row = frames.enterprises.filter(pl.col("uscc") == make_uscc(1)).row(0, named=True)
    assert "listed" not in row  # dropped from the declaration: not joined
    assert row["exports"] is None  # declared after the import
    assert row["patents"] is None  # retyped since: its values were checked as integers
    assert row["rd_expense"] == Decimal("1000.50")
    assert frames.enterprises.schema["patents"] == pl.String
    assert one is not None
    assert {k: one[0][k] for k in row} == row


VALUES = st.fixed_dictionaries(
    {
        "rd_expense": st.one_of(
            st.just(""), st.decimals(0, 10**9, places=2).map(lambda d: f"{d:f}")
        ),
        "patents": st.one_of(st.just(""), st.integers(-(10**17), 10**17).map(str)),
        "rd_share": st.one_of(
            st.just(""), st.decimals(-999, 999, places=3).map(lambda d: f"{d:f}")
        ),
        "certified_on": st.one_of(st.just(""), st.dates().map(dt.date.isoformat)),
        "listed": st.sampled_from(["", "true", "false", "1", "no"]),
        "grade": st.text("AB中文 ", min_size=1, max_size=8).filter(lambda t: t.strip() != ""),
    }
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    tax=st.lists(st.tuples(st.integers(1, FIRMS), VALUES), max_size=FIRMS),
    months=st.dictionaries(st.integers(1, PEOPLE), st.integers(0, 12)),
)
def test_one_firms_look_up_gives_what_the_frames_give(
    registry: Engine,
    data_dir: Path,
    tmp_path: Path,
    tax: list[tuple[int, dict[str, str]]],
    months: dict[int, int],
) -> None:
    firms_rows = {firm: tax_row(firm) | values for firm, values in tax}
    with db.session_scope(registry) as session:
        if firms_rows:
            tax_file = write_csv(tmp_path / "tax.csv", list(firms_rows.values()))
            service.import_source(session, "tax", tax_file, data_dir=data_dir)
        people = [insurance_row(p, str(m)) for p, m in months.items()]
        if people:
            si_file = write_csv(tmp_path / "si.csv", people)
            service.import_source(session, "social-insurance", si_file, data_dir=data_dir)
    with Session(registry) as session:
        frames = service.current_frames(session, data_dir)
        for firm in range(1, FIRMS + 1):
            uscc = make_uscc(firm)
            found = service.firm_data(session, uscc)
            assert found is not None
            enterprise, employees = found
            expected = frames.enterprises.filter(pl.col("uscc") == uscc).row(0, named=True)
            assert enterprise == expected
            assert list(enterprise) == list(expected)
            assert [type(v) for v in enterprise.values()] == [type(v) for v in expected.values()]
            staff_rows = frames.employees.filter(pl.col("uscc") == uscc).sort("person_id")
            assert sorted(employees, key=lambda e: e["person_id"]) == staff_rows.to_dicts()


def test_an_unregistered_firm_has_no_data(registry: Engine) -> None:
    with Session(registry) as session:
        assert service.firm_data(session, make_uscc(FIRMS + 1)) is None


def test_the_command_imports_a_source_and_the_status_lists_every_source(
    app_env: Engine, data_dir: Path, tmp_path: Path
) -> None:
    for table, rows, name in (
        ("enterprises", firms(FIRMS), "firms.csv"),
        ("employees", staff(PEOPLE, FIRMS), "staff.csv"),
    ):
        assert qinqing("import", table, write_csv(tmp_path / name, rows))[0] == 0
    declare(app_env, CATALOG)
    code, output = qinqing("import", "source", "tax", write_csv(tmp_path / "t.csv", [tax_row(1)]))
    assert code == 0, output
    assert "tax: 1 rows from t.csv as snapshot 3" in output
    code, output = qinqing("registry", "status")
    assert code == 0, output
    lines = {line.split()[0]: line for line in output.splitlines() if line.strip()}
    assert "t.csv" in lines["tax"]
    assert "Hangzhou Municipal Tax Service" in lines["tax"]
    assert "declared, not imported" in lines["social-insurance"]


def test_the_command_prints_every_problem_and_fails(
    app_env: Engine, data_dir: Path, tmp_path: Path
) -> None:
    for table, rows, name in (
        ("enterprises", firms(FIRMS), "firms.csv"),
        ("employees", staff(PEOPLE, FIRMS), "staff.csv"),
    ):
        assert qinqing("import", table, write_csv(tmp_path / name, rows))[0] == 0
    declare(app_env, CATALOG)
    path = write_csv(tmp_path / "t.csv", [tax_row(1, patents="many"), tax_row(FIRMS + 3)])
    code, output = qinqing("import", "source", "tax", path)
    assert code == 1
    assert "row 2, column patents: 'many' is not a whole number" in output
    assert f"row 3, column uscc: '{make_uscc(FIRMS + 3)}' is not in the enterprise" in output
    code, output = qinqing("import", "source", "rent", path)
    assert code == 1
    assert "tax, social-insurance" in output


def test_typed_parquet_integers_are_taken_within_the_written_bounds(
    registry: Engine, data_dir: Path, tmp_path: Path
) -> None:
    ids = ["P000000000000001", "P000000000000002"]
    path = tmp_path / "si.parquet"
    pl.DataFrame({"person_id": ids, "months_insured_2019": [7, 10**18]}).write_parquet(path)
    with pytest.raises(RegistryValidationError) as refused:
        load(registry, "social-insurance", path, data_dir)
    [problem] = refused.value.problems
    assert (problem.row, problem.column) == (3, "months_insured_2019")
    assert "whole number" in problem.message
    pl.DataFrame({"person_id": ids, "months_insured_2019": [7, 0]}).write_parquet(path)
    load(registry, "social-insurance", path, data_dir)
    assert stored(registry, "social-insurance")[ids[0]] == {"months_insured_2019": 7}
