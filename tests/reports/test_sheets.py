"""The workbook writer: text never becomes a formula, yuan are exact, rows stream and spill over."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports import _sheets as sheets
from reports._sheets import Column, Kind

HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(A1:A2)",
    "=",
    "#N/A",
    "#DIV/0!",
    "=cmd|' /C calc'!A0",
    "plain text",
    "  spaced  ",
    "杭州测试科技有限公司",
]


def props(**changes: Any) -> sheets.Properties:
    made = sheets.Properties(
        title="T", subject="S", creator="tester", description="D", custom={"k": "v"}
    )
    return made if not changes else sheets.Properties(**(made.__dict__ | changes))


def write(path: Path, columns: list[Column], rows: list[tuple[Any, ...]]) -> Path:
    book = sheets.Book(props())
    sheet = book.sheet("Data", [c.width or 12 for c in columns], freeze="A2")
    sheet.table("Data", columns, rows)
    book.save(path)
    return path


def test_text_from_data_is_never_a_formula(tmp_path: Path) -> None:
    path = write(tmp_path / "t.xlsx", [Column("Name")], [(v,) for v in HOSTILE])
    ws = openpyxl.load_workbook(path)["Data"]
    cells = [row[0] for row in ws.iter_rows(min_row=2, max_row=len(HOSTILE) + 1)]
    assert [c.value for c in cells] == HOSTILE
    assert {c.data_type for c in cells} == {"s"}
    # what a spreadsheet would act on keeps the quote prefix, so editing the cell keeps it text
    assert all(c.quotePrefix for c in cells if str(c.value)[0] in "=+-@#")
    xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml
    assert "<f " not in xml


def test_control_characters_and_overlong_text_are_made_storable(tmp_path: Path) -> None:
    long = "x" * 40_000
    path = write(tmp_path / "t.xlsx", [Column("Name")], [("bell\x07name",), (long,), ("",)])
    ws = openpyxl.load_workbook(path)["Data"]
    assert ws["A2"].value == "bell\ufffdname"
    assert ws["A3"].value == "x" * 32_767
    assert ws["A4"].value is None  # an empty string is an empty cell


amounts = st.decimals(
    min_value=Decimal("-9999999999999.99"),
    max_value=Decimal("9999999999999.99"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(amounts, min_size=1, max_size=300))
def test_yuan_read_back_equal_to_the_fen(tmp_path: Path, values: list[Decimal]) -> None:
    """Every amount below 10^13 yuan (15 significant digits) is the same number read back."""
    path = write(tmp_path / "y.xlsx", [Column("Amount", Kind.YUAN)], [(v,) for v in values])
    ws = openpyxl.load_workbook(path)["Data"]
    cells = [row[0] for row in ws.iter_rows(min_row=2, max_row=len(values) + 1)]
    assert {c.number_format for c in cells} == {"#,##0.00"}
    assert {c.data_type for c in cells} == {"n"}
    assert [Decimal(repr(c.value)) for c in cells] == values


def test_realistic_extremes_and_beyond_doubles(tmp_path: Path) -> None:
    values = [
        Decimal("0.01"),
        Decimal("0.07"),
        Decimal("1234567.89"),
        Decimal("9999999999999.99"),
        Decimal("-9999999999999.99"),
        Decimal("10000000000000.00"),
        Decimal("99999999999999.99"),  # NUMERIC(16, 2)'s largest: text, exact
    ]
    path = write(tmp_path / "y.xlsx", [Column("Amount", Kind.YUAN)], [(v,) for v in values])
    ws = openpyxl.load_workbook(path)["Data"]
    cells = [ws.cell(row=r, column=1) for r in range(2, len(values) + 2)]
    assert [Decimal(repr(c.value)) for c in cells[:5]] == values[:5]
    assert [(c.value, c.data_type) for c in cells[5:]] == [
        ("10000000000000.00", "s"),
        ("99999999999999.99", "s"),
    ]
    assert cells[6].alignment.horizontal == "right"


def test_typed_cells_refuse_the_wrong_values(tmp_path: Path) -> None:
    book = sheets.Book(props())
    sheet = book.sheet("Data")
    with pytest.raises(TypeError, match="Decimal"):
        sheet.table("T", [Column("Amount", Kind.YUAN)], [(1234.5,)])
    with pytest.raises(TypeError, match="int"):
        sheet.table("U", [Column("N", Kind.INTEGER)], [(True,)])
    book.discard()


def test_tables_are_filtered_frozen_fitted_and_totalled(tmp_path: Path) -> None:
    columns = [
        Column("Day", Kind.DATE),
        Column("Firm"),
        Column("Paid", Kind.YUAN),
        Column("Items", Kind.INTEGER),
        Column("Share", Kind.PERCENT),
        Column("At (Asia/Shanghai)", Kind.DATETIME),
    ]
    at = dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    rows = [
        (
            dt.date(2026, 3, 1),
            "杭州很长很长的名字有限公司",
            Decimal("12.30"),
            3,
            Decimal("0.25"),
            at,
        )
    ]
    book = sheets.Book(props())
    sheet = book.sheet("Data", sheets.fitted_widths([(columns, rows)]), freeze="A2")
    span = sheet.table("Paid", columns, rows, ("Total", None, Decimal("12.30"), 3, None, None))
    book.save(tmp_path / "t.xlsx")
    assert span == sheets.Span("Data", 1, 2, 2, 6)
    wb = openpyxl.load_workbook(tmp_path / "t.xlsx")
    ws = wb["Data"]
    assert ws.freeze_panes == "A2"
    table = ws.tables["Paid"]
    assert table.ref == "A1:F2"
    assert table.autoFilter.ref == "A1:F2"
    assert [c.name for c in table.tableColumns] == [c.header for c in columns]
    assert ws.column_dimensions["B"].width >= 26  # CJK characters count double
    assert [c.value for c in ws[3]][:4] == ["Total", None, 12.3, 3]
    assert all(c.font.b for c in ws[3] if c.value is not None)
    assert ws["A2"].number_format == "yyyy-mm-dd"
    assert ws["D2"].number_format == "#,##0"
    assert ws["E2"].number_format == "0.00%"
    assert ws["F2"].value == dt.datetime(2026, 3, 1, 8, 30)  # in the users' zone (Beijing)
    assert wb.properties.title == "T"
    assert wb.properties.creator == "tester"
    assert {p.name: p.value for p in cast(Any, wb).custom_doc_props} == {"k": "v"}


def test_an_empty_table_says_so(tmp_path: Path) -> None:
    book = sheets.Book(props())
    book.sheet("Data").table("Empty", [Column("A"), Column("B", Kind.YUAN)], [])
    book.save(tmp_path / "e.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "e.xlsx")["Data"]
    assert ws.tables["Empty"].ref == "A1:B2"
    assert ws["A2"].value == "(none)"


def test_a_long_table_continues_on_the_next_sheets_and_streams(tmp_path: Path) -> None:
    pulled = 0

    def rows() -> Iterator[tuple[Any, ...]]:
        nonlocal pulled
        for n in range(25):
            pulled += 1
            yield (f"row {n}", Decimal(n))

    generator = rows()
    book = sheets.Book(props())
    spans = sheets.stream_table(
        book, "Ledger", "Ledger", [Column("Row"), Column("Amount", Kind.YUAN)], generator,
        sheet_rows=10,
    )  # fmt: skip
    book.save(tmp_path / "l.xlsx")
    assert pulled == 25
    assert [(s.sheet, s.rows) for s in spans] == [("Ledger", 10), ("Ledger 2", 10), ("Ledger 3", 5)]
    wb = openpyxl.load_workbook(tmp_path / "l.xlsx")
    assert wb.sheetnames == ["Ledger", "Ledger 2", "Ledger 3"]
    seen = []
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"
        assert ws["A1"].value == "Row"
        seen += [r[0] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert seen == [f"row {n}" for n in range(25)]
    assert sorted(t for ws in wb.worksheets for t in ws.tables) == [
        "Ledger",
        "Ledger_2",
        "Ledger_3",
    ]


def test_exactly_a_sheet_full_opens_no_empty_sheet(tmp_path: Path) -> None:
    book = sheets.Book(props())
    spans = sheets.stream_table(
        book, "Ledger", "Ledger", [Column("Row")], ((str(n),) for n in range(10)), sheet_rows=10
    )
    book.save(tmp_path / "l.xlsx")
    assert [s.rows for s in spans] == [10]
    assert openpyxl.load_workbook(tmp_path / "l.xlsx").sheetnames == ["Ledger"]


def test_a_failed_workbook_leaves_no_temporary_files(tmp_path: Path) -> None:
    def rows() -> Iterator[tuple[Any, ...]]:
        yield ("a",)
        raise RuntimeError("the database went away")

    book = sheets.Book(props())
    sheet = book.sheet("Data")
    with pytest.raises(RuntimeError):
        sheet.table("T", [Column("A")], rows())
    written = [cast(Any, ws)._writer.out for ws in book._book.worksheets]
    book.discard()
    assert written
    assert not any(Path(p).exists() for p in written)


def test_every_sheet_prints_a4_landscape_one_page_wide_headed_and_numbered(
    tmp_path: Path,
) -> None:
    page = sheets.Page(header="R&D report · 2026-03", empty="（无）")
    book = sheets.Book(props(), page)
    columns = [Column("Day", Kind.DATE), Column("Paid", Kind.YUAN), Column("Items", Kind.INTEGER)]
    rows = [(dt.date(2026, 3, d), Decimal(d), d) for d in range(1, 11)]
    sheet = book.sheet("Data", [12, 14, 10], freeze="A3", repeat="1:2")
    sheet.line("Title", bold=True)
    span = sheet.table("Paid", columns, rows)
    sheet.bar_chart("Paid by day", span, 1, [2], "yuan")
    sheet.line_chart("Paid, a line", span, 1, 2, "yuan")
    sheet.charts_page()
    book.sheet("Empty").table("Nothing", columns, [])
    book.save(tmp_path / "p.xlsx")

    wb: Any = openpyxl.load_workbook(tmp_path / "p.xlsx")
    for ws in wb.worksheets:
        setup = ws.page_setup
        assert (setup.orientation, setup.paperSize) == ("landscape", 9)
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0)
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        # "&" is a page header's code character: the report's own is doubled
        assert ws.oddHeader.center.text == "R&&D report · 2026-03 · &A"
        assert ws.oddFooter.center.text == "&P / &N"
        assert ws.page_margins.left == sheets.PAGE_MARGINS.left
    data = wb["Data"]
    assert data.print_title_rows == "$1:$2"
    assert data.freeze_panes == "A3"
    assert wb["Empty"].print_title_rows is None
    long = sheets.header_text("&" * 500)  # a header holds 255 characters, codes included
    assert long.startswith("&&&&")
    assert len(long) + len(" · &A") <= 255
    assert wb["Empty"]["A2"].value == "（无）"
    # both charts below the table, after a page break, side by side, each within the page
    (brk,) = data.row_breaks.brk
    assert brk.id > span.last_row
    charts = data._charts
    assert len(charts) == 2
    starts = [(c.anchor._from.row + 1, c.anchor._from.col) for c in charts]
    assert all(row > brk.id for row, _ in starts)
    assert starts[0][0] == starts[1][0]
    assert starts[0][1] < starts[1][1]
    width, height = sheets.PRINTABLE_CM
    for chart in charts:  # the anchor keeps the size, in EMU (360,000 a centimetre)
        assert chart.anchor.ext.width / 360_000 <= width / 2
        assert chart.anchor.ext.height / 360_000 < height
