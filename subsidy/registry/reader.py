"""Reading a registry file (CSV, XLSX or Parquet) into a polars frame, cells untouched.

CSV and XLSX cells are read as text so that the validator, not a type guess, decides what a cell
means and can quote it back to the user. Parquet keeps its own types. Empty rows are kept so that
row numbers match what the user sees in the file.

Before a file is parsed its size is checked where the file declares it cheaply (`limits`: the
CSV header line and row count, the Parquet metadata, the XLSX zip directory and dimension); an
XLSX formula cell is refused, as calamine would read its cached value or nothing; a CSV row with
more fields than the header is named by row and line, in our words rather than polars'.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import fastexcel
import polars as pl

from subsidy.registry import _xlsx
from subsidy.registry.errors import Problem, RegistryFileError, RegistryValidationError
from subsidy.registry.limits import ImportLimits

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}
FIRST_RECORD_ROW = 2  # the header is row 1
SHOWN_RAGGED = 100


def read_source(path: Path, limits: ImportLimits | None = None) -> pl.DataFrame:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise RegistryFileError(
            f"{path.name}: unsupported file type {path.suffix or '(none)'!r}; "
            f"use one of {', '.join(FORMATS)}"
        )
    if not path.is_file():
        raise RegistryFileError(f"{path}: no such file")
    limits = limits or ImportLimits.configured()
    try:
        frame = _read(path, fmt, limits)
    except pl.exceptions.ComputeError as exc:
        if fmt == "csv" and "more fields than defined" in str(exc):
            raise RegistryValidationError(path.name, _ragged_rows(path, limits)) from exc
        raise RegistryFileError(f"{path.name}: cannot be read as {fmt}: {exc}") from exc
    except (pl.exceptions.PolarsError, fastexcel.FastExcelError, OSError, ValueError) as exc:
        raise RegistryFileError(f"{path.name}: cannot be read as {fmt}: {exc}") from exc
    if frame.width == 0:
        raise RegistryFileError(f"{path.name}: has no header row")
    limits.check_shape(path.name, frame.height, frame.width)
    limits.check_cells(frame, path.name, FIRST_RECORD_ROW)
    return frame


def _read(path: Path, fmt: str, limits: ImportLimits) -> pl.DataFrame:
    if fmt == "csv":
        limits.check_csv(path)
        return pl.read_csv(path, infer_schema=False, encoding="utf8", raise_if_empty=True)
    if fmt == "xlsx":
        return _read_xlsx(path, limits)
    limits.check_parquet(path)
    return pl.read_parquet(path)


def inspect_xlsx(path: Path, limits: ImportLimits | None = None) -> _xlsx.FirstSheet:
    """An XLSX file measured from its zip before any spreadsheet library opens it (bank files
    too): its first sheet's name, span and formula cells, or RegistryFileError."""
    return _xlsx.inspect(path, limits or ImportLimits.configured())


def formula_message(sheet: str, ref: str) -> str:
    return f"cell {sheet}!{ref} is a formula, not a value: paste values only"


def _read_xlsx(path: Path, limits: ImportLimits) -> pl.DataFrame:
    sheet = _xlsx.inspect(path, limits)
    if sheet.rows is not None and sheet.columns is not None:
        limits.check_shape(path.name, sheet.rows - 1, sheet.columns)
    frame = pl.read_excel(
        path,
        engine="calamine",
        sheet_id=1,
        read_options={"dtypes": "string"},
        drop_empty_rows=False,
        drop_empty_cols=False,
    )
    if sheet.formulas:
        raise RegistryValidationError(path.name, _formula_problems(path.name, sheet, frame))
    return frame


def _formula_problems(source: str, sheet: _xlsx.FirstSheet, frame: pl.DataFrame) -> list[Problem]:
    problems = []
    for cell in sheet.formulas:
        index = _xlsx.column_index(cell.column)
        column = frame.columns[index] if index < frame.width else None
        message = formula_message(sheet.name, cell.ref)
        problems.append(Problem(source, cell.row, column, None, message))
    hidden = sheet.formula_count - len(sheet.formulas)
    if hidden > 0:
        problems.append(
            Problem(
                source, None, None, None, f"and {hidden:,} more formula cells: paste values only"
            )
        )
    return problems


def _ragged_rows(path: Path, limits: ImportLimits) -> list[Problem]:
    """Each row with more fields than the header, by row and line (only on refusal: a loop)."""
    csv.field_size_limit(max(limits.max_cell_chars * 4, 1 << 17))
    problems: list[Problem] = []
    with path.open("rb") as file:
        lines = _lines(file)
        reader = csv.reader(lines)
        try:
            width = len(next(reader))
            for row, fields in enumerate(reader, start=FIRST_RECORD_ROW):
                if len(fields) > width:
                    problems.append(
                        Problem(
                            path.name,
                            row,
                            None,
                            None,
                            f"has {len(fields)} fields, the header has {width} "
                            f"(line {reader.line_num}): quote a value that holds a comma",
                        )
                    )
                    if len(problems) >= SHOWN_RAGGED:
                        break
        except csv.Error:
            line = reader.line_num
            problems.append(
                Problem(
                    path.name,
                    None,
                    None,
                    None,
                    f"line {line} holds a carriage return (\\r) that does not end a Windows line "
                    "(\\r\\n): save the file with Windows (\\r\\n) or Unix (\\n) line endings",
                )
            )
    return problems or [
        Problem(path.name, None, None, None, "rows have more fields than the header")
    ]


def _lines(file: object) -> Iterator[str]:
    """Lines as polars splits them: at \\n only, a \\r before it dropped."""
    for raw in file:  # type: ignore[attr-defined]
        text = raw.decode("utf-8", errors="replace")
        yield text[:-2] + "\n" if text.endswith("\r\n") else text
