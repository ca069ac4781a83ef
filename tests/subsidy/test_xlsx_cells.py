"""XLSX cells as finance writes them: number cells (doubles) read as the decimal the spreadsheet
shows, date cells as dates, boolean cells as booleans; then the usual validation. Workbooks made by
openpyxl, by `demo-data --format xlsx` and by LibreOffice (converted headless from CSV); and a CSV
saved as GBK refused with the way to save it as UTF-8."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from subsidy.registry import demo
from subsidy.registry.errors import RegistryFileError, RegistryValidationError
from subsidy.registry.reader import read_source
from subsidy.registry.schema import EMPLOYEES, ENTERPRISES, Table
from subsidy.registry.validation import validate
from tests.commands import qinqing, wide_terminal  # noqa: F401 (an autouse fixture)
from tests.subsidy.factories import Row, enterprise, firms, write_xlsx

SOFFICE_SECONDS = 180


def typed(path: Path, table: Table = ENTERPRISES) -> pl.DataFrame:
    return validate(read_source(path), table, path.name)


def problems_of(
    path: Path, table: Table = ENTERPRISES
) -> list[tuple[int | None, str | None, str | None, str]]:
    with pytest.raises(RegistryValidationError) as refused:
        typed(path, table)
    return [(p.row, p.column, p.value, p.message) for p in refused.value.problems]


def with_cell_text(path: Path, written: str, stored: str) -> Path:
    """The workbook with a number cell's stored text changed, as Excel stores a double with 17
    significant digits (`0.30000000000000004`) where openpyxl writes 16 (`0.3`)."""
    parts: dict[str, bytes] = {}
    with zipfile.ZipFile(path) as source:
        for name in source.namelist():
            parts[name] = source.read(name)
    sheet = "xl/worksheets/sheet1.xml"
    old = f"<v>{written}</v>".encode()
    assert parts[sheet].count(old) == 1
    parts[sheet] = parts[sheet].replace(old, f"<v>{stored}</v>".encode())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


def test_number_cells_are_the_decimals_the_sheet_shows(tmp_path: Path) -> None:
    rows: list[Row] = [
        enterprise(1) | {"revenue": 169039555.94, "tax_paid": 77712.29, "ui_premium": 12},
        enterprise(2) | {"revenue": 8743419769.03, "tax_paid": 0.1, "ui_premium": 12.5},
        enterprise(3) | {"name": 4321, "bank_account": 622202123456789},
    ]
    frame = typed(write_xlsx(tmp_path / "e.xlsx", rows, ENTERPRISES))
    money = frame.select("revenue", "tax_paid", "ui_premium").rows()
    assert money[:2] == [
        (Decimal("169039555.94"), Decimal("77712.29"), Decimal("12.00")),
        (Decimal("8743419769.03"), Decimal("0.10"), Decimal("12.50")),
    ]
    # an integral number cell in a text column is its digits, not "4321.0"
    assert frame.row(2, named=True)["name"] == "4321"
    assert frame.row(2, named=True)["bank_account"] == "622202123456789"


def test_number_cells_with_more_than_two_decimals_are_refused_where_they_are(
    tmp_path: Path,
) -> None:
    rows: list[Row] = firms(4)
    rows[1] = rows[1] | {"revenue": 1.005}
    rows[3] = rows[3] | {"tax_paid": 0.25}
    path = write_xlsx(tmp_path / "e.xlsx", rows, ENTERPRISES)
    with_cell_text(path, "0.25", "0.30000000000000004")  # 0.1 + 0.2 pasted as a value
    money = "is not an amount in yuan (at most 14 digits and 2 decimals)"
    assert problems_of(path) == [
        (3, "revenue", "1.005", money),
        (5, "tax_paid", "0.30000000000000004", money),
    ]


def test_a_number_cell_of_sixteen_digits_is_refused(tmp_path: Path) -> None:
    """Excel keeps 15 digits of a number: an account typed as a number has lost its last ones."""
    rows: list[Row] = firms(3)
    rows[1] = rows[1] | {"bank_account": 6222021234567890123}
    rows[2] = rows[2] | {"revenue": 1e15}
    path = write_xlsx(tmp_path / "e.xlsx", rows, ENTERPRISES)
    message = (
        "is a number cell of 16 digits or more, which a spreadsheet does not keep exactly "
        "(15 digits): format the column as text and type the digits again"
    )
    assert problems_of(path) == [
        (3, "bank_account", "6222021234567890000", message),
        (4, "revenue", "1000000000000000", message),
    ]


def test_text_cells_stay_their_text(tmp_path: Path) -> None:
    """A text cell that looks like a number is not read as one: an account keeps its leading
    zero, and an amount typed as text with nine decimals is refused as typed, not rounded."""
    rows: list[Row] = firms(2)
    rows[0] = rows[0] | {"bank_account": "0123456789", "revenue": "12.50"}
    rows[1] = rows[1] | {"revenue": "169039555.939999998"}
    path = write_xlsx(tmp_path / "e.xlsx", rows, ENTERPRISES)
    raw = read_source(path)
    assert raw.row(0, named=True)["bank_account"] == "0123456789"
    assert raw.row(0, named=True)["revenue"] == "12.50"
    assert [(row, column, value) for row, column, value, _ in problems_of(path)] == [
        (3, "revenue", "169039555.939999998")
    ]


def test_date_cells_are_dates_and_a_time_of_day_is_refused(tmp_path: Path) -> None:
    rows: list[Row] = firms(4)
    rows[0] = rows[0] | {"established": date(2015, 3, 1)}
    rows[1] = rows[1] | {"established": datetime(2016, 4, 2)}  # midnight: a date
    rows[2] = rows[2] | {"established": "2017-05-03"}  # text, as before
    path = write_xlsx(tmp_path / "e.xlsx", rows[:3], ENTERPRISES)
    assert typed(path)["established"].to_list() == [
        date(2015, 3, 1),
        date(2016, 4, 2),
        date(2017, 5, 3),
    ]
    rows[3] = rows[3] | {"established": datetime(2018, 6, 4, 13, 5)}
    timed = write_xlsx(tmp_path / "timed.xlsx", rows, ENTERPRISES)
    assert problems_of(timed) == [
        (
            5,
            "established",
            "2018-06-04 13:05:00",
            "has a time of day; a date column takes the date alone (YYYY-MM-DD)",
        )
    ]


def test_boolean_cells_and_numbers_in_a_boolean_column(tmp_path: Path) -> None:
    rows: list[Row] = firms(3)
    rows[0] = rows[0] | {"dishonest": True, "high_tech": False}
    rows[1] = rows[1] | {"dishonest": 1, "high_tech": 0}
    rows[2] = rows[2] | {"dishonest": "false", "high_tech": "yes"}
    frame = typed(write_xlsx(tmp_path / "e.xlsx", rows, ENTERPRISES))
    assert frame.select("dishonest", "high_tech").rows() == [
        (True, False),
        (True, False),
        (False, True),
    ]


def test_a_formula_cell_is_still_refused(tmp_path: Path) -> None:
    rows: list[Row] = firms(2)
    rows[1] = rows[1] | {"revenue": "=1000+0.5"}
    path = write_xlsx(tmp_path / "e.xlsx", rows, ENTERPRISES)
    assert [(row, column) for row, column, _, _ in problems_of(path)] == [(3, "revenue")]


def test_an_error_cell_is_refused_not_read_as_empty(tmp_path: Path) -> None:
    """#N/A pasted from a lookup: calamine reads it as empty, an optional amount gone missing."""
    path = tmp_path / "e.xlsx"
    write_xlsx(path, firms(3), ENTERPRISES)
    book = openpyxl.load_workbook(path)
    sheet = book.active
    assert sheet is not None
    for ref, value in (("K3", "#N/A"), ("L4", "#DIV/0!")):  # revenue, tax_paid
        sheet[ref] = value
        sheet[ref].data_type = "e"
    sheet["M4"] = "=1/0"
    book.save(path)
    found = problems_of(path)
    assert found == [
        (4, "ui_premium", None, "cell Sheet!M4 is a formula, not a value: paste values only"),
        (
            3,
            "revenue",
            "#N/A",
            "cell Sheet!K3 is an error (as a lookup that found nothing leaves), not a value: "
            "correct it at its source, or clear the cell if the value is unknown",
        ),
        (
            4,
            "tax_paid",
            "#DIV/0!",
            "cell Sheet!L4 is an error (as a lookup that found nothing leaves), not a value: "
            "correct it at its source, or clear the cell if the value is unknown",
        ),
    ]


@pytest.fixture(scope="module")
def demo_frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    return demo.generate(60, seed=14)


def _demo_files(
    frames: tuple[pl.DataFrame, pl.DataFrame], out: Path, fmt: demo.Format
) -> tuple[Path, Path]:
    return demo.write(*frames, out, fmt)


def test_demo_xlsx_stores_money_as_number_cells_and_dates_as_date_cells(
    demo_frames: tuple[pl.DataFrame, pl.DataFrame], tmp_path: Path
) -> None:
    firms_path, staff_path = _demo_files(demo_frames, tmp_path, "xlsx")
    for path, money, dates in (
        (firms_path, ("revenue", "tax_paid", "ui_premium"), ("established",)),
        (staff_path, ("monthly_wage",), ("hire_date", "leave_date", "birth_date")),
    ):
        book = openpyxl.load_workbook(path)
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=False)
        header = [cell.value for cell in next(rows)]
        kinds: dict[str, set[str]] = {name: set() for name in (*money, *dates)}
        for row in rows:
            for name in kinds:
                cell = row[header.index(name)]
                if cell.value is not None:
                    kinds[name].add("date" if cell.is_date else cell.data_type)
        assert all(kinds[name] == {"n"} for name in money), kinds
        assert all(kinds[name] == {"date"} for name in dates), kinds


@pytest.mark.parametrize("other", ["csv", "parquet"])
def test_demo_xlsx_imports_as_its_csv_and_parquet_do(
    demo_frames: tuple[pl.DataFrame, pl.DataFrame], tmp_path: Path, other: demo.Format
) -> None:
    xlsx = _demo_files(demo_frames, tmp_path / "xlsx", "xlsx")
    again = _demo_files(demo_frames, tmp_path / other, other)
    for table, from_xlsx, from_other in zip((ENTERPRISES, EMPLOYEES), xlsx, again, strict=True):
        assert_same_rows(typed(from_xlsx, table), typed(from_other, table))


def assert_same_rows(got: pl.DataFrame, expected: pl.DataFrame) -> None:
    assert got.schema == expected.schema
    assert got.height == expected.height > 0
    assert got.rows() == expected.rows()


def _soffice() -> str:
    found = shutil.which("soffice")
    if found is None:
        message = "LibreOffice (soffice) is not installed: apt-get install libreoffice-calc"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


# LibreOffice's CSV filter: comma, double quote, UTF-8 (76), from line 1, then column formats
# (column/format: 2 text, 5 YYYY-MM-DD), as finance marks an account or id column as text.
_CSV_FILTER = {
    "enterprises": "CSV:44,34,76,1,1/2/5/5/14/2",
    "employees": "CSV:44,34,76,1,1/2/2/2/3/5/4/5/8/5",
}


def _libreoffice_xlsx(csv_path: Path, table: Table, profile: Path, out: Path) -> Path:
    """The CSV converted by LibreOffice headless, with a private profile (parallel runs would
    otherwise share one and wait on its lock)."""
    done = subprocess.run(
        [
            _soffice(),
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            f"--infilter={_CSV_FILTER[table.name]}",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(csv_path),
        ],
        capture_output=True,
        text=True,
        timeout=SOFFICE_SECONDS,
        check=False,
    )
    converted = out / f"{csv_path.stem}.xlsx"
    failed = f"LibreOffice did not convert {csv_path.name}: {done.stdout} {done.stderr}"
    assert done.returncode == 0, failed
    assert converted.is_file(), failed
    return converted


def test_a_libreoffice_workbook_imports_as_its_csv_does(
    demo_frames: tuple[pl.DataFrame, pl.DataFrame], tmp_path: Path
) -> None:
    """LibreOffice stores amounts as number cells (its own double's digits) and dates as date
    cells: the import equals the CSV's."""
    soffice_out = tmp_path / "soffice"
    for table, csv_path in zip(
        (ENTERPRISES, EMPLOYEES), _demo_files(demo_frames, tmp_path / "csv", "csv"), strict=True
    ):
        converted = _libreoffice_xlsx(csv_path, table, tmp_path / "profile", soffice_out)
        assert _has_number_cells(converted)
        assert_same_rows(typed(converted, table), typed(csv_path, table))


def _has_number_cells(path: Path) -> bool:
    with zipfile.ZipFile(path) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    return b't="n"' in sheet or b'"><v>' in sheet


AMOUNTS = st.decimals(
    min_value=Decimal("0"),
    max_value=Decimal("999999999999.99"),  # below a trillion yuan: 14 significant digits
    places=2,
    allow_nan=False,
    allow_infinity=False,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(amounts=st.lists(AMOUNTS, min_size=1, max_size=30))
def test_an_amount_written_as_a_double_reads_back_as_itself(
    tmp_path: Path, amounts: list[Decimal]
) -> None:
    path = tmp_path / "amounts.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["revenue"])
    for amount in amounts:
        sheet.append([float(amount)])  # as a spreadsheet holds it: a double
    book.save(path)
    shown = read_source(path)["revenue"].to_list()
    assert [Decimal(text) for text in shown] == amounts


def _gbk_csv(path: Path, rows: list[Row]) -> Path:
    lines = [",".join(ENTERPRISES.names)]
    lines += [",".join(str(row[n]) for n in ENTERPRISES.names) for row in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    return path


def test_a_gbk_csv_is_refused_with_the_way_to_save_it_as_utf8(tmp_path: Path) -> None:
    path = _gbk_csv(tmp_path / "企业名录.csv", firms(3))
    with pytest.raises(RegistryFileError) as refused:
        read_source(path)
    message = str(refused.value)
    assert message.startswith("企业名录.csv: is not UTF-8 (line 2, byte ")
    assert "looks GBK-encoded" in message
    assert '另存为 "CSV UTF-8' in message
    assert "iconv -f GBK -t UTF-8 企业名录.csv" in message
    # and the file saved as the message says imports
    utf8 = tmp_path / "企业名录-utf8.csv"
    utf8.write_text(path.read_bytes().decode("gbk"), encoding="utf-8")
    assert typed(utf8)["name"].to_list() == [row["name"] for row in firms(3)]


def test_a_csv_in_another_encoding_is_refused_without_the_gbk_hint(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes("uscc,name\nX,Café\xff\n".encode("latin-1"))
    with pytest.raises(RegistryFileError) as refused:
        read_source(path)
    assert (
        str(refused.value)
        == "e.csv: is not UTF-8 (line 2, byte 16): save it as UTF-8 CSV and import that"
    )


def test_the_demo_xlsx_imports_from_the_command_line(app_env: Engine, tmp_path: Path) -> None:
    """Issue 14's report, as a user runs it."""
    out = tmp_path / "d"
    code, output = qinqing("demo-data", "--firms", 50, "--format", "xlsx", "--out", out)
    assert code == 0, output
    code, output = qinqing("import", "enterprises", out / "enterprises.xlsx")
    assert code == 0, output
    assert "enterprises: 50 rows from enterprises.xlsx" in output
    code, output = qinqing("import", "employees", out / "employees.xlsx")
    assert code == 0, output


def test_a_gbk_csv_is_refused_by_the_command_with_the_hint(app_env: Engine, tmp_path: Path) -> None:
    path = _gbk_csv(tmp_path / "firms.csv", firms(2))
    code, output = qinqing("import", "enterprises", path)
    output = " ".join(output.split())  # rich wraps long lines
    assert code == 1
    assert "firms.csv: is not UTF-8" in output
    assert "looks GBK-encoded" in output
    assert "iconv -f GBK -t UTF-8 firms.csv > firms-utf8.csv" in output
