"""The one workbook writer every report goes through: openpyxl in write-only mode, typed columns.

What it guarantees, whatever the data:

* **Text stays text.** A text column's cell is always an inline string. openpyxl would turn a
  string starting with "=" into a formula and "#N/A" into an error; such a value (and anything
  starting with "+", "-" or "@", which a spreadsheet may read as a formula when the cell is edited)
  is written as a cell forced to the string type, with Excel's quote prefix so that editing it
  keeps it text. Characters XML cannot hold (control characters) become U+FFFD; a value longer
  than a cell holds (32,767 characters) is cut. Nothing a firm typed can become a formula.
* **Yuan are exact to the fen.** An amount is a `Decimal` with 2 places, written as a number
  formatted `#,##0.00`. A spreadsheet holds numbers as IEEE doubles, which keep any decimal of up
  to 15 significant digits: every amount below 10^13 yuan (9,999,999,999,999.99) reads back as
  exactly the amount written, in Excel as in openpyxl. An amount of 10^13 yuan or more (16
  digits; NUMERIC(16, 2) allows them) would lose its last fen as a number, so it is written as
  text instead, exact, right-aligned: it cannot be summed in the sheet, but it is never wrong.
* **Rows stream.** Rows are appended as they come (write-only mode keeps none of them in memory);
  a table longer than a sheet holds continues on the next sheet ("Ledger", "Ledger 2", ...).
* Each table is an Excel table (header row, filter buttons, banded rows) with an optional total
  row below it, outside the table so that sorting and filtering never move it. Column widths and
  frozen header rows are set before the first row, as write-only mode requires.
* **Every sheet prints.** A4 landscape, scaled to one page wide (as many pages tall as it needs),
  the header rows repeated on every page, the report's name, period and sheet name at the top of
  each page and "page / pages" at its foot (`Page`). Charts go below the tables, on a page of
  their own, sized to stay within it (`Sheet.charts_page`).
* Times are shown in the users' zone (`subsidy.localtime`): Excel has no time zones.

The hot path (a million ledger rows) makes one cell object per styled or forced value and passes
safe text and integers to openpyxl as they are; see bench/README.md for its cost against a bare
openpyxl loop.
"""

from __future__ import annotations

import contextlib
import itertools
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

from openpyxl import Workbook
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Alignment, Font
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

from subsidy import localtime
from subsidy.progress import NO_PROGRESS, Progress

YUAN_FORMAT = "#,##0.00"
INTEGER_FORMAT = "#,##0"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
PERCENT_FORMAT = "0.00%"
EXACT_YUAN_LIMIT = Decimal(10) ** 13
"""Amounts below this (15 significant digits at most) are exact as spreadsheet numbers."""
SHEET_ROWS = 1_000_000
"""Data rows on one sheet before a table continues on the next (a sheet holds 1,048,576)."""
MAX_CELL_TEXT = 32_767
PROGRESS_EVERY = 10_000
_FORMULA_START = frozenset("=+-@")
_TABLE_STYLE = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)


class Kind(StrEnum):
    TEXT = "text"
    YUAN = "yuan"
    INTEGER = "integer"
    DATE = "date"
    DATETIME = "datetime"
    PERCENT = "percent"


_DEFAULT_WIDTH = {
    Kind.TEXT: 16.0,
    Kind.YUAN: 16.0,
    Kind.INTEGER: 10.0,
    Kind.DATE: 11.0,
    Kind.DATETIME: 19.0,
    Kind.PERCENT: 9.0,
}
_MAX_WIDTH = 60.0


@dataclass(frozen=True)
class Column:
    header: str
    kind: Kind = Kind.TEXT
    width: float | None = None
    """In characters; None: fitted to the content of a small table, or a default per kind."""


@dataclass(frozen=True)
class Properties:
    """What the workbook is, for whom and from what: shown in File > Info > Properties."""

    title: str
    subject: str
    creator: str
    description: str
    keywords: str = ""
    custom: dict[str, str] = field(default_factory=dict)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Page:
    """How every sheet of a workbook prints: `header` (the report's name and its period, plain
    text) heads each page with the sheet's name; `empty` stands in a table without rows."""

    header: str = ""
    empty: str = "(none)"


PAGE_MARGINS = PageMargins(left=0.4, right=0.4, top=0.75, bottom=0.6, header=0.3, footer=0.3)
"""Inches: room for the page header and footer, little else wasted."""
PRINTABLE_CM = (29.7 - 2 * 0.4 * 2.54, 21.0 - (0.75 + 0.6) * 2.54)
"""The printable width and height of an A4 landscape page within PAGE_MARGINS, in cm."""
CM_PER_CHARACTER = 0.2
"""About what one character of column width takes (7 pixels at 96 dpi, and the cell's padding)."""


HEADER_TEXT = 120
"""Characters of a page header's own text: a header holds 255 in all, codes and "&&" included."""


def header_text(text: str) -> str:
    """Text as a page header shows it: at most HEADER_TEXT characters (a long policy title is
    cut), "&" doubled (it starts a code there: `&P`, `&A`)."""
    text = clean_text(text)
    if len(text) > HEADER_TEXT:
        text = text[: HEADER_TEXT - 1] + "…"
    return text.replace("&", "&&")


@dataclass(frozen=True)
class Span:
    """Where a table landed: its sheet, header row and data rows (for charts and tests)."""

    sheet: str
    header_row: int
    first_row: int
    last_row: int
    """== first_row - 1 when the table has no data rows."""
    columns: int

    @property
    def rows(self) -> int:
        return self.last_row - self.first_row + 1


def column_letter(index: int) -> str:
    """The letter of a 1-based column: 1 -> A, 28 -> AB."""
    return get_column_letter(index)


def display_width(text: str) -> float:
    """Characters a text needs in a column: CJK characters count double."""
    return float(sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text))


def clean_text(value: str) -> str:
    """What a cell can hold: no XML-illegal characters, at most 32,767 characters."""
    if ILLEGAL_CHARACTERS_RE.search(value):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return value[:MAX_CELL_TEXT]


class Book:
    """A write-only workbook: sheets are written in the order they are made, then saved once."""

    def __init__(self, properties: Properties, page: Page | None = None) -> None:
        self._book = Workbook(write_only=True)
        self.page = page or Page()
        self._set_properties(properties)
        self._table_names: set[str] = set()
        self._styles: dict[tuple[str, bool, bool, bool], StyleArray] = {}
        self._sheet_titles: set[str] = set()

    def _set_properties(self, properties: Properties) -> None:
        props = self._book.properties
        props.title = properties.title
        props.subject = properties.subject
        props.creator = properties.creator
        props.lastModifiedBy = properties.creator
        props.description = properties.description
        props.keywords = properties.keywords or None
        props.created = properties.created.astimezone(UTC).replace(tzinfo=None)
        custom = cast(Any, self._book).custom_doc_props  # not in the stubs
        for name, value in properties.custom.items():
            custom.append(StringProperty(name=name, value=value))

    def sheet(
        self,
        title: str,
        widths: Sequence[float] = (),
        freeze: str | None = None,
        repeat: str | None = None,
    ) -> Sheet:
        """A new sheet; `widths` (characters per column), `freeze` (e.g. "A2") and its page setup
        must be known now: write-only mode writes them before the first row. `repeat` ("1:2"):
        the rows printed again at the top of every page (a table's header)."""
        if title in self._sheet_titles:
            raise ValueError(f"sheet {title!r} already exists")
        self._sheet_titles.add(title)
        ws = self._book.create_sheet(title)
        widths = [min(width, _MAX_WIDTH) for width in widths]
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width
        if freeze is not None:
            ws.freeze_panes = freeze
        self._page_setup(ws, repeat)
        return Sheet(self, ws, title, sum(widths))

    def _page_setup(self, ws: Any, repeat: str | None) -> None:
        """A4 landscape, one page wide and as many tall as needed, header and footer."""
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        setup = ws.page_setup
        setup.orientation = "landscape"
        setup.paperSize = 9  # A4
        setup.fitToWidth, setup.fitToHeight = 1, 0
        ws.page_margins = PAGE_MARGINS
        ws.print_options.horizontalCentered = False
        header = header_text(self.page.header)
        ws.oddHeader.center.text = f"{header} · &A" if header else "&A"
        ws.oddFooter.center.text = "&P / &N"
        ws.oddHeader.center.size = ws.oddFooter.center.size = 9
        if repeat is not None:
            ws.print_title_rows = repeat

    def style(
        self,
        number_format: str = "General",
        *,
        bold: bool = False,
        quoted: bool = False,
        right: bool = False,
    ) -> StyleArray:
        """A style of this workbook, made once and shared by every cell that uses it (cells
        never change their style after they are made, so sharing is safe)."""
        key = (number_format, bold, quoted, right)
        found = self._styles.get(key)
        if found is None:
            cell: Any = Cell(cast(Any, _StyleHost(self._book)), 1, 1)
            cell.number_format = number_format
            if bold:
                cell.font = Font(bold=True)
            if quoted:
                cell.quotePrefix = True
            if right:
                cell.alignment = Alignment(horizontal="right")
            found = self._styles[key] = cell._style
        return found

    def table_name(self, wanted: str) -> str:
        """A workbook-unique Excel table name from `wanted` (letters, digits, underscores)."""
        base = "".join(ch if ch.isalnum() else "_" for ch in wanted) or "Table"
        if not (base[0].isalpha() or base[0] == "_"):
            base = "T_" + base
        name, n = base, 1
        while name.lower() in self._table_names:
            n += 1
            name = f"{base}_{n}"
        self._table_names.add(name.lower())
        return name

    def next_title(self, title: str) -> str:
        """`title`, or `title 2`, `title 3`... when taken."""
        name, n = title, 1
        while name in self._sheet_titles:
            n += 1
            name = f"{title} {n}"
        return name

    def titles(self) -> list[str]:
        return [ws.title for ws in self._book.worksheets]

    def save(self, path: Path) -> None:
        try:
            if not self._book.worksheets:
                self.sheet("Report")
            self._book.save(path)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Close the sheets written so far and remove their temporary files (after a failure)."""
        for ws in self._book.worksheets:
            writer = getattr(ws, "_writer", None)
            if writer is None:
                continue
            with contextlib.suppress(Exception):
                if not ws.closed:
                    ws.close()
            Path(writer.out).unlink(missing_ok=True)


class _StyleHost:
    """Stands in for a worksheet while a style is made: a cell reaches its workbook via parent."""

    def __init__(self, book: Workbook) -> None:
        self.parent = book


class Sheet:
    def __init__(self, book: Book, ws: WriteOnlyWorksheet, title: str, width: float = 0) -> None:
        self.book = book
        self.ws: Any = ws  # the stubs type add_table / add_chart for the ordinary worksheet
        self.title = title
        self.width = width
        """The columns' widths added up, in characters."""
        self.row = 0
        """The last row written."""
        self._charts: list[BarChart | LineChart] = []

    def line(self, *values: Any, bold: bool = False, style: str | None = None) -> int:
        """A row of free text (a title, a note); every value is written as text."""
        fmt = "General"
        cells: list[Any] = []
        for value in values:
            if value is None:
                cells.append(None)
                continue
            style_array = self.book.style(fmt, bold=bold or style == "heading")
            cells.append(_cell(self.ws, clean_text(str(value)), "s", style_array))
        return self._append(cells)

    def blank(self) -> int:
        return self._append([])

    def _append(self, cells: list[Any]) -> int:
        self.ws.append(cells)
        self.row += 1
        return self.row

    def makers(self, columns: Sequence[Column]) -> list[Callable[[Any], Any]]:
        return [_maker(self, column.kind) for column in columns]

    def table(
        self,
        name: str,
        columns: Sequence[Column],
        rows: Iterable[Sequence[Any]],
        total: Sequence[Any] | None = None,
        progress: Progress = NO_PROGRESS,
    ) -> Span:
        """Header, rows and an optional total row (bold, below the table); rows stream."""
        return self._table(name, columns, iter(rows), total, progress, limit=None)

    def _table(
        self,
        name: str,
        columns: Sequence[Column],
        rows: Iterator[Sequence[Any]],
        total: Sequence[Any] | None,
        progress: Progress,
        limit: int | None,
    ) -> Span:
        header_style = self.book.style(bold=True)
        header = []
        for column in columns:
            header.append(_cell(self.ws, clean_text(column.header), "s", header_style))
        header_row = self._append(header)
        makers = self.makers(columns)
        append = self.ws.append
        written = 0
        pending = 0
        for row in rows:
            append([make(value) for make, value in zip(makers, row, strict=True)])
            written += 1
            pending += 1
            if pending == PROGRESS_EVERY:
                progress.advance(pending)
                pending = 0
            if limit is not None and written == limit:
                break
        if pending:
            progress.advance(pending)
        self.row += written
        if written == 0:
            self.line(self.book.page.empty)
        last = self.row
        ref = f"A{header_row}:{get_column_letter(len(columns))}{last}"
        table = Table(
            displayName=self.book.table_name(name),
            ref=ref,
            tableStyleInfo=_TABLE_STYLE,
            autoFilter=AutoFilter(ref=ref),
            tableColumns=[
                TableColumn(id=i, name=_unique_header(columns, i - 1))
                for i in range(1, len(columns) + 1)
            ],
        )
        with warnings.catch_warnings():
            # openpyxl warns that write-only mode needs the columns named: they are, above
            warnings.filterwarnings("ignore", "In write-only mode", UserWarning)
            self.ws.add_table(table)
        if total is not None:
            self._total(columns, total)
        return Span(self.title, header_row, header_row + 1, header_row + written, len(columns))

    def _total(self, columns: Sequence[Column], total: Sequence[Any]) -> None:
        """Bold; a label ("Total", "3 items") may stand in any column."""
        label = _maker(self, Kind.TEXT, bold=True)
        makers = [_maker(self, column.kind, bold=True) for column in columns]
        self._append(
            [
                label(value) if isinstance(value, str) else make(value)
                for make, value in zip(makers, total, strict=True)
            ]
        )

    def bar_chart(
        self,
        title: str,
        span: Span,
        category_column: int,
        value_columns: Sequence[int],
        axis: str,
        money: bool = True,
    ) -> None:
        """Bars of one or more columns of a table's data rows (1-based column numbers), named by
        their headers, against the categories of another column; placed by `charts_page`."""
        if span.rows <= 0:
            return
        chart = BarChart()
        chart.type = "col"
        chart.title = title
        if len(value_columns) == 1:
            chart.legend = None
        chart.y_axis.numFmt = YUAN_FORMAT if money else INTEGER_FORMAT
        chart.y_axis.title = axis
        self._plot(chart, span, category_column, value_columns, text_categories=True)

    def line_chart(
        self, title: str, span: Span, category_column: int, value_column: int, axis: str
    ) -> None:
        if span.rows <= 0:
            return
        chart = LineChart()
        chart.title = title
        chart.legend = None
        chart.y_axis.numFmt = YUAN_FORMAT
        chart.y_axis.title = axis
        chart.x_axis.number_format = "mm-dd"  # the year is the period's: days fit unbroken
        self._plot(chart, span, category_column, [value_column])

    def charts_page(self) -> None:
        """Place the charts made so far below what is written, on a page of their own, side by
        side, each as wide as half the sheet's columns (which the page is scaled to) and less
        high than the page: printed, none is cut by a page break or the page's edge."""
        if not self._charts:
            return
        self.blank()
        self.ws.row_breaks.append(Break(id=self.row))
        sheet_cm = max(self.width * CM_PER_CHARACTER, PRINTABLE_CM[0])
        scale = PRINTABLE_CM[0] / sheet_cm  # printed size / size on the sheet
        pair = len(self._charts) > 1
        width = sheet_cm * (0.47 if pair else 0.7)
        height = min(width * (0.7 if pair else 0.5), PRINTABLE_CM[1] / scale * 0.75)
        row = self.row + 2
        for n, chart in enumerate(self._charts):
            sized: Any = chart  # the stubs say whole centimetres; openpyxl takes any number
            sized.width, sized.height = width, height
            column = 1 if n % 2 == 0 else self._half()
            self.ws.add_chart(chart, f"{column_letter(column)}{row}")
            if n % 2 == 1:
                row += int(height / 0.5) + 2  # rows are 0.5 cm high
        self._charts = []

    def _half(self) -> int:
        """The column where the right half of the sheet's width starts."""
        dims = self.ws.column_dimensions
        widths = [float(dims[column_letter(i)].width or 13) for i in range(1, len(dims) + 1)]
        covered = 0.0
        for index, width in enumerate(widths, start=1):
            covered += width
            if covered >= sum(widths) / 2:
                return index + 1
        return len(widths) + 1

    def _plot(
        self,
        chart: BarChart | LineChart,
        span: Span,
        category_column: int,
        value_columns: Sequence[int],
        text_categories: bool = False,
    ) -> None:
        for column in value_columns:
            values = Reference(
                self.ws, min_col=column, min_row=span.header_row, max_row=span.last_row
            )
            chart.add_data(values, titles_from_data=True)
        categories = Reference(
            self.ws, min_col=category_column, min_row=span.first_row, max_row=span.last_row
        )
        chart.set_categories(categories)
        if text_categories:  # openpyxl refers to categories as numbers; these are names
            for series in chart.series:
                series.cat = AxDataSource(strRef=StrRef(f=str(categories)))
        # openpyxl hides both axes of a new chart unless told otherwise
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        self._charts.append(chart)


def _unique_header(columns: Sequence[Column], index: int) -> str:
    """Excel refuses a table whose headers repeat; the n-th repeat gets " (n)"."""
    header = clean_text(columns[index].header)
    earlier = sum(1 for c in columns[:index] if clean_text(c.header) == header)
    return header if earlier == 0 else f"{header} ({earlier + 1})"


def stream_table(
    book: Book,
    title: str,
    name: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    progress: Progress = NO_PROGRESS,
    sheet_rows: int | None = None,
) -> list[Span]:
    """A table that may outgrow a sheet: it continues on "title 2", "title 3"... each sheet
    with its own header, frozen and filtered; returns one span per sheet (at least one)."""
    limit = sheet_rows or SHEET_ROWS
    pulled = iter(rows)
    widths = [column.width or _DEFAULT_WIDTH[column.kind] for column in columns]
    spans: list[Span] = []
    while True:
        first = next(pulled, None)
        if first is None and spans:
            return spans
        sheet = book.sheet(book.next_title(title), widths, freeze="A2", repeat="1:1")
        # chain, not a generator with `yield from`: closing that would close `pulled` too
        chained = pulled if first is None else itertools.chain([first], pulled)
        span = sheet._table(name, columns, chained, None, progress, limit=limit)
        spans.append(span)
        if span.rows < limit:
            return spans


def fitted_widths(
    tables: Sequence[tuple[Sequence[Column], Sequence[Sequence[Any]]]],
) -> list[float]:
    """Column widths that fit every cell of small tables stacked on one sheet."""
    widths: list[float] = []
    for columns, rows in tables:
        for index, column in enumerate(columns):
            needed = column.width or max(
                [display_width(column.header) + 2]
                + [
                    display_width(_shown(value, column.kind)) + 2
                    for row in rows
                    for value in row[index : index + 1]
                ]
            )
            if index < len(widths):
                widths[index] = max(widths[index], needed)
            else:
                widths.append(needed)
    return [min(max(w, 8.0), _MAX_WIDTH) for w in widths]


def _shown(value: Any, kind: Kind) -> str:
    """Roughly how a value is displayed, for its width."""
    if value is None:
        return ""
    if kind is Kind.YUAN and isinstance(value, Decimal):
        return f"{value:,.2f}"
    if kind is Kind.INTEGER and isinstance(value, int):
        return f"{value:,}"
    if kind is Kind.PERCENT:
        return "100.00%"
    if kind is Kind.DATE:
        return "2020-01-01"
    if kind is Kind.DATETIME:
        return "2020-01-01 00:00:00"
    return str(value)


# -- cells ---------------------------------------------------------------------------------------


def _cell(ws: Any, value: Any, data_type: str, style: StyleArray | None) -> Cell:
    """A cell with its type and style set as they are: assigning `value` would make openpyxl infer
    the type (a string starting with "=" would become a formula) and styling it by attribute
    would look the style up again for every cell. A style array is shared, never changed."""
    cell: Any = Cell(ws, 1, 1)
    cell._value = value
    cell.data_type = data_type
    cell._style = style
    return cast(Cell, cell)


def _maker(sheet: Sheet, kind: Kind, bold: bool = False) -> Callable[[Any], Any]:
    """A function from a value of `kind` to what `append` takes for it (a cell or the value)."""
    ws, book = sheet.ws, sheet.book
    if kind is Kind.TEXT:
        quoted = book.style(quoted=True, bold=bold)
        plain = book.style(bold=True) if bold else None

        def text(value: Any) -> Any:
            if value is None or value == "":
                return None
            if not isinstance(value, str):
                value = str(value)
            if (
                plain is None
                and value[0] not in _FORMULA_START
                and value not in ERROR_CODES
                and len(value) <= MAX_CELL_TEXT
                and not ILLEGAL_CHARACTERS_RE.search(value)
            ):
                return value  # openpyxl writes such a string as an inline string, as it is
            active = value[0] in _FORMULA_START or value in ERROR_CODES
            return _cell(ws, clean_text(value), "s", quoted if active else plain)

        return text
    if kind is Kind.YUAN:
        number = book.style(YUAN_FORMAT, bold=bold)
        as_text = book.style(bold=bold, right=True)

        def yuan(value: Any) -> Any:
            if value is None:
                return None
            if not isinstance(value, Decimal) or isinstance(value, bool):
                raise TypeError(f"a yuan cell takes a Decimal, not {value!r}")
            if -EXACT_YUAN_LIMIT < value < EXACT_YUAN_LIMIT:
                return _cell(ws, value, "n", number)
            return _cell(ws, f"{value:.2f}", "s", as_text)

        return yuan
    if kind is Kind.INTEGER:
        style = book.style(INTEGER_FORMAT, bold=bold)

        def integer(value: Any) -> Any:
            if value is None:
                return None
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"an integer cell takes an int, not {value!r}")
            return _cell(ws, value, "n", style)

        return integer
    if kind is Kind.PERCENT:
        style = book.style(PERCENT_FORMAT, bold=bold)

        def percent(value: Any) -> Any:
            if value is None:
                return None
            return _cell(ws, value, "n", style)

        return percent
    if kind is Kind.DATE:
        style = book.style(DATE_FORMAT, bold=bold)

        def day(value: Any) -> Any:
            if value is None:
                return None
            if not isinstance(value, date) or isinstance(value, datetime):
                raise TypeError(f"a date cell takes a date, not {value!r}")
            return _cell(ws, value, "d", style)

        return day
    style = book.style(DATETIME_FORMAT, bold=bold)

    def moment(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"a datetime cell takes a datetime, not {value!r}")
        # Excel has no time zones: shown in the users' zone, as the column's header says
        naive = localtime.local(value).replace(tzinfo=None)
        return _cell(ws, naive, "d", style)

    return moment
