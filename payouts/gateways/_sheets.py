"""Bank files as tables of text: CSV or XLSX (first sheet), header row first.

Every cell is written as text and read back as text, so that the parser of each column, not a
spreadsheet's type guess, decides what a cell means and can quote it back in a problem. In XLSX,
text cells are forced to the string type: a value that looks like a formula (`=HYPERLINK(...)`) or
an error (`#N/A`) stays the text it was. CSV is written verbatim (UTF-8, no BOM, RFC 4180 quoting):
it is a file for machines, and the bank must receive a payee's name exactly, so nothing is
prefixed to defuse spreadsheets.
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.exceptions import InvalidFileException

from payouts.gateways._types import MAX_YUAN
from payouts.gateways.errors import BankFileError
from subsidy.registry.errors import Problem, RegistryError
from subsidy.registry.limits import ImportLimits
from subsidy.registry.reader import formula_message, inspect_xlsx

FORMATS = {".csv": "csv", ".xlsx": "xlsx"}
HEADER_ROW = 1


def format_of(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path.name}: a bank file is .csv or .xlsx, not {path.suffix or 'none'}")
    return fmt


def write_table(path: Path, fmt: str, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """The header and rows as a `fmt` file at `path`, every cell as text."""
    if fmt == "csv":
        with path.open("w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(header)
            writer.writerows(rows)
        return
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append([_text_cell(sheet, name) for name in header])
    for row in rows:
        sheet.append([_text_cell(sheet, value) for value in row])
    book.save(path)


def _text_cell(sheet: Any, value: str) -> Any:
    if not value:
        return None  # an empty cell, which reads back as "" like an empty CSV field
    if ILLEGAL_CHARACTERS_RE.search(value):
        raise ValueError(f"{value!r} holds a control character that XLSX cannot store")
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"  # never a formula, an error or a number guessed from the text
    return cell


@dataclass
class Table:
    """A file's records: (row number with the header as row 1, cells by column name).

    Every required column is present; a missing cell reads as "". Blank rows are skipped but
    counted, so row numbers are the ones a spreadsheet shows. `problems` holds the rows that do
    not fit the header; the caller adds its own and refuses the file if there are any.
    """

    source: str
    records: list[tuple[int, dict[str, str]]]
    problems: list[Problem] = field(default_factory=list)


def read_table(path: Path, required: Sequence[str], source: str | None = None) -> Table:
    """The file's records, or BankFileError if it cannot be read or lacks a required column."""
    source = source or path.name
    fmt = format_of(path)
    _refuse_unbounded(path, fmt, source)
    try:
        rows = _csv_rows(path) if fmt == "csv" else _xlsx_rows(path)
    except (
        OSError,
        UnicodeDecodeError,
        csv.Error,
        zipfile.BadZipFile,
        InvalidFileException,
        KeyError,
    ) as exc:
        detail = f"cannot be read as {fmt}: {exc}"
        raise BankFileError(source, [Problem(source, None, None, None, detail)]) from exc
    if not rows:
        raise BankFileError(source, [Problem(source, None, None, None, "has no header row")])
    header = [name.strip() for name in rows[0]]
    header_problems = [
        Problem(source, HEADER_ROW, name, None, "column is missing")
        for name in required
        if name not in header
    ] + [
        Problem(source, HEADER_ROW, name, None, "column appears more than once")
        for name in sorted({n for n in header if n and header.count(n) > 1})
    ]
    if header_problems:
        raise BankFileError(source, header_problems)
    table = Table(source, [])
    for number, row in enumerate(rows[1:], start=HEADER_ROW + 1):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header) and any(cell.strip() for cell in row[len(header) :]):
            message = f"has {len(row)} cells but the header has {len(header)} columns"
            table.problems.append(Problem(source, number, None, None, message))
            continue
        cells = dict(zip(header, row, strict=False))
        table.records.append((number, {name: cells.get(name, "") for name in header if name}))
    return table


def _refuse_unbounded(path: Path, fmt: str, source: str) -> None:
    """The registry's import limits, before parsing: a bank file is no larger than a registry;
    an XLSX formula cell is refused (openpyxl would read its cached value, or nothing)."""
    try:
        if fmt == "csv":
            ImportLimits.configured().check_csv(path)
            return
        sheet = inspect_xlsx(path)
    except RegistryError as exc:
        detail = str(exc).removeprefix(f"{path.name}: ")
        raise BankFileError(source, [Problem(source, None, None, None, detail)]) from exc
    except (OSError, pl.exceptions.PolarsError):
        return  # not a limit: read_table says why the file cannot be read
    if sheet.formulas:
        raise BankFileError(
            source,
            [
                Problem(source, cell.row, None, None, formula_message(sheet.name, cell.ref))
                for cell in sheet.formulas
            ],
        )


def _csv_rows(path: Path) -> list[list[str]]:
    # utf-8-sig: a BOM, which Excel adds when it saves CSV, is accepted and dropped
    with path.open(newline="", encoding="utf-8-sig") as file:
        return list(csv.reader(file, strict=True))


def _xlsx_rows(path: Path) -> list[list[str]]:
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        return [[_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _cell_text(value: object) -> str:
    """A cell as the text a person would have typed; numbers exactly as the cell holds them."""
    match value:
        case None:
            return ""
        case str():
            return value
        case bool():
            return "true" if value else "false"
        case int() | Decimal():
            return str(value)
        case float():
            # the shortest text that reads back as the same double: 1234.5, never 1234.4999...
            return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
        case datetime():
            return value.date().isoformat() if value.time() == time() else value.isoformat()
        case date() | time():
            return value.isoformat()
        case _:
            return str(value)


_AMOUNT = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def parse_yuan(text: str) -> tuple[Decimal | None, str | None]:
    """(amount, None) for a positive amount of yuan with at most 2 decimals, else (None, why)."""
    text = text.strip()
    if not _AMOUNT.fullmatch(text):
        return None, "is not an amount of yuan (digits, a decimal point, e.g. 1234.50)"
    amount = Decimal(text)
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]  # finite: an int exponent
        return None, "has more than 2 decimals"
    if amount < 0:
        return None, "must not be negative"
    if amount == 0:
        return None, "must be more than zero"
    if amount > MAX_YUAN:
        return None, f"is more than {MAX_YUAN}"
    return amount, None


def format_yuan(amount: Decimal) -> str:
    """Always two decimals, a point, no grouping: 1234.50 (exact for a checked amount)."""
    return f"{amount:.2f}"
