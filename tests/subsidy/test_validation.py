"""Every kind of bad registry input is refused naming file, row, column and value."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from subsidy.registry.errors import Problem, RegistryFileError, RegistryValidationError
from subsidy.registry.reader import read_source
from subsidy.registry.schema import EMPLOYEES, ENTERPRISES, Table
from subsidy.registry.validation import validate
from tests.subsidy.factories import (
    Row,
    employee,
    enterprise,
    firms,
    make_uscc,
    write_csv,
    write_xlsx,
)


def problems_of(path: Path, table: Table, known: list[str] | None = None) -> list[Problem]:
    known_usccs = pl.Series(known, dtype=pl.String) if known is not None else None
    with pytest.raises(RegistryValidationError) as refused:
        validate(read_source(path), table, path.name, known_usccs=known_usccs)
    return refused.value.problems


def test_good_enterprises_parse_to_contract_types(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "e.csv", [enterprise(1), enterprise(2, ui_premium="")])
    frame = validate(read_source(path), ENTERPRISES, path.name)
    assert frame.schema == ENTERPRISES.polars_schema
    first = frame.row(0, named=True)
    assert first["established"] == date(2015, 3, 1)
    assert first["ui_premium"] == Decimal("12000.50")
    assert first["dishonest"] is False
    assert frame["ui_premium"][1] is None


BAD_ENTERPRISE_CELLS = [
    (
        "uscc",
        make_uscc(7)[:-1] + ("1" if make_uscc(7)[-1] != "1" else "2"),
        "wrong check character",
    ),
    ("uscc", "9133010600000000", "must be 18 characters, not 16"),
    ("uscc", "91330106000000O07X", "is not a USCC"),
    ("uscc", "", "is required"),
    ("name", "   ", "is required"),
    ("industry", "65", "GB/T 4754"),
    ("established", "2020-02-30", "is not a date"),
    ("established", "30/01/2020", "is not a date"),
    ("size", "huge", "must be one of micro, small, medium, large"),
    ("status", "closed", "must be one of active, suspended, deregistered"),
    ("tax_rating", "E", "must be one of A, B, M, C, D"),
    ("dishonest", "maybe", "is not true or false"),
    ("revenue", "-0.01", "must not be negative"),
    ("tax_paid", "12.345", "at most 14 digits and 2 decimals"),
    ("ui_premium", "1,000", "at most 14 digits and 2 decimals"),
    ("ui_premium", "123456789012345", "at most 14 digits and 2 decimals"),
]


@pytest.mark.parametrize(("column", "value", "message"), BAD_ENTERPRISE_CELLS)
def test_bad_enterprise_cell_is_named(
    tmp_path: Path, column: str, value: str, message: str
) -> None:
    rows = firms(5)
    rows[3] = rows[3] | {column: value}
    problems = problems_of(write_csv(tmp_path / "firms.csv", rows), ENTERPRISES)
    assert len(problems) == 1
    (problem,) = problems
    assert (problem.file, problem.row, problem.column) == ("firms.csv", 5, column)
    assert problem.value == (value or None)  # quoted as it stands in the file
    assert message in problem.message


BAD_EMPLOYEE_CELLS = [
    ("person_id", "", "is required"),
    ("hire_date", "2019-13-01", "is not a date"),
    ("leave_date", "2019-04-30", "is before hire_date 2019-05-01"),
    ("insured", "Y", "is not true or false"),
    ("monthly_wage", "-6500", "must not be negative"),
    ("uscc", make_uscc(99), "is not in the enterprise registry"),
    ("birth_date", "1990-02-29", "is not a date"),
]


@pytest.mark.parametrize(("column", "value", "message"), BAD_EMPLOYEE_CELLS)
def test_bad_employee_cell_is_named(tmp_path: Path, column: str, value: str, message: str) -> None:
    rows = [employee(i) for i in range(1, 6)]
    rows[1] = rows[1] | {column: value}
    path = write_csv(tmp_path / "staff.csv", rows)
    problems = problems_of(path, EMPLOYEES, known=[make_uscc(1)])
    assert [(p.row, p.column) for p in problems] == [(3, column)]
    assert message in problems[0].message


def test_duplicate_keys_point_at_the_first_occurrence(tmp_path: Path) -> None:
    rows = [*firms(3), enterprise(2, name="again")]
    problems = problems_of(write_csv(tmp_path / "e.csv", rows), ENTERPRISES)
    assert [(p.row, p.column, p.message) for p in problems] == [
        (5, "uscc", "appears again: first on row 3")
    ]
    staff = [employee(1), employee(2), employee(1)]
    problems = problems_of(write_csv(tmp_path / "p.csv", staff), EMPLOYEES, [make_uscc(1)])
    assert [(p.row, p.message) for p in problems] == [(4, "appears again: first on row 2")]


def test_missing_unknown_and_repeated_columns_are_header_problems(tmp_path: Path) -> None:
    rows = [{k: v for k, v in enterprise(1).items() if k != "status"} | {"phone": "1"}]
    problems = problems_of(write_csv(tmp_path / "e.csv", rows), ENTERPRISES)
    assert [(p.row, p.column, p.message) for p in problems] == [
        (1, "status", "column is missing"),
        (1, "phone", "unknown column for enterprises"),
    ]


def test_every_problem_is_reported_in_file_order(tmp_path: Path) -> None:
    rows = firms(200)
    for i in range(0, 200, 4):
        rows[i] = rows[i] | {"size": "giant", "revenue": "-1"}
    problems = problems_of(write_csv(tmp_path / "e.csv", rows), ENTERPRISES)
    assert len(problems) == 100
    assert [p.row for p in problems] == sorted(p.row or 0 for p in problems)
    assert [p.column for p in problems[:2]] == ["size", "revenue"]


def test_xlsx_rows_count_as_the_user_sees_them(tmp_path: Path) -> None:
    rows: list[Row] = firms(6)
    rows[4] = rows[4] | {"tax_rating": "Z"}
    path = write_xlsx(tmp_path / "e.xlsx", rows, ENTERPRISES)
    problems = problems_of(path, ENTERPRISES)
    assert [(p.row, p.column, p.value) for p in problems] == [(6, "tax_rating", "Z")]


def test_xlsx_real_dates_numbers_and_booleans_are_accepted(tmp_path: Path) -> None:
    row = enterprise(1) | {
        "established": date(2015, 3, 1),
        "dishonest": False,
        "revenue": 1000000.5,
        "ui_premium": 0.1,
    }
    path = write_xlsx(tmp_path / "e.xlsx", [row], ENTERPRISES)
    frame = validate(read_source(path), ENTERPRISES, path.name)
    got = frame.row(0, named=True)
    assert got["established"] == date(2015, 3, 1)
    assert got["dishonest"] is False
    assert (got["revenue"], got["ui_premium"]) == (Decimal("1000000.50"), Decimal("0.10"))


def test_parquet_types_are_taken_as_they_are(tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "e.csv", firms(3))
    typed = validate(read_source(csv_path), ENTERPRISES, "e.csv")
    typed.with_columns(pl.col("revenue").cast(pl.Int64)).write_parquet(tmp_path / "e.parquet")
    again = validate(read_source(tmp_path / "e.parquet"), ENTERPRISES, "e.parquet")
    assert again.equals(typed)


def test_negative_parquet_money_is_refused(tmp_path: Path) -> None:
    typed = validate(read_source(write_csv(tmp_path / "e.csv", firms(3))), ENTERPRISES, "e.csv")
    typed.with_columns(tax_paid=pl.Series([1, -5, 2]).cast(pl.Decimal(10, 2))).write_parquet(
        tmp_path / "e.parquet"
    )
    problems = problems_of(tmp_path / "e.parquet", ENTERPRISES)
    assert [(p.row, p.column, p.value) for p in problems] == [(3, "tax_paid", "-5.00")]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("e.txt", b"x", "unsupported file type '.txt'"),
        ("e.csv", b"", "cannot be read as csv"),
        ("e.xlsx", b"not a zip", "cannot be read as xlsx"),
        ("e.parquet", b"nope", "cannot be read as parquet"),
    ],
)
def test_unreadable_files_are_refused_with_their_name(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(RegistryFileError, match=message):
        read_source(path)


def test_problem_reads_like_a_sentence() -> None:
    problem = Problem("e.csv", 734, "uscc", "91330106X", "has a wrong check character: expected 3")
    assert str(problem) == (
        "e.csv, row 734, column uscc: '91330106X' has a wrong check character: expected 3"
    )
