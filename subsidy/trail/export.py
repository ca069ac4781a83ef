"""The filtered audit entries as a file: CSV (UTF-8 with a BOM, as spreadsheets open it) or
XLSX (openpyxl write-only). Every cell is text or a number the trail holds; a text that a
spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) is written with a leading
apostrophe in CSV and as a plain string cell in XLSX, so no cell is ever a formula.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from subsidy.audit.queries import Shown

Format = Literal["csv", "xlsx"]
COLUMNS = ("id", "at", "actor", "action", "subject", "before", "after", "hash")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def row(entry: Shown) -> list[Any]:
    return [
        entry.id,
        entry.at.isoformat(),
        entry.actor,
        entry.action,
        entry.subject,
        as_json(entry.before),
        as_json(entry.after),
        entry.hash,
    ]


def as_json(value: Any) -> str:
    """An entry's before / after as one line of JSON (what the page and the files show)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def as_text(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as the text it is."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_csv(entries: Iterable[Shown]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for entry in entries:
        writer.writerow([as_text(v) for v in row(entry)])
    return ("\ufeff" + out.getvalue()).encode()


def write_xlsx(entries: Iterable[Shown]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("audit")
    sheet.append(list(COLUMNS))
    for entry in entries:
        sheet.append([_cell(sheet, v) for v in row(entry)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(sheet: Any, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"  # a string cell, even when it starts with "="
    return cell


def write(fmt: Format, entries: Iterable[Shown]) -> bytes:
    return write_csv(entries) if fmt == "csv" else write_xlsx(entries)
