"""Reading a registry file (CSV, XLSX or Parquet) into a polars frame, cells untouched.

CSV and XLSX cells are read as text so that the validator, not a type guess, decides what a cell
means and can quote it back to the user; an XLSX number cell becomes the decimal the spreadsheet
shows (the shortest that round-trips its double), a date cell its date and time, a boolean cell
true or false. Parquet keeps its own types. Empty rows are kept so that row numbers match what
the user sees in the file.

Before a file is parsed its size is checked where the file declares it cheaply (`limits`: the
CSV header line and row count, the Parquet metadata, the XLSX zip directory and dimension); an
XLSX formula cell is refused, as calamine would read its cached value or nothing; a CSV row with
more fields than the header is named by row and line, in our words rather than polars'.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import fastexcel
import polars as pl
from fastexcel import DType

from subsidy.registry import _xlsx
from subsidy.registry.errors import Problem, RegistryFileError, RegistryValidationError
from subsidy.registry.limits import ImportLimits

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}
FIRST_RECORD_ROW = 2  # the header is row 1
SHOWN_RAGGED = 100
SHOWN_INEXACT = 100
INEXACT_FROM = 1e15
"""The smallest number with 16 digits: Excel keeps 15 significant digits of a number."""
CHUNK = 1 << 20
_BOOLEAN_TEXTS = ("true", "false")
"""How calamine writes a boolean cell as text."""
_NUMBER_TEXT = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"
"""How calamine writes a number cell as text (only columns with such text may hold numbers)."""


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
        if fmt == "csv" and "invalid utf-8" in str(exc):
            raise RegistryFileError(_not_utf8(path)) from exc
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
    book = fastexcel.read_excel(path)
    frame = _load(book, "string")
    if sheet.formulas or sheet.errors:
        problems = _formula_problems(path.name, sheet, frame) + _error_problems(
            path.name, sheet, frame
        )
        raise RegistryValidationError(path.name, problems)
    return _numbers_as_shown(path.name, book, frame)


def _load(
    book: fastexcel.ExcelReader, dtype: DType, columns: list[int] | None = None
) -> pl.DataFrame:
    """The first sheet, header row 1, every row kept (empty ones too), each cell as `dtype`."""
    return book.load_sheet(0, dtypes=dtype, use_columns=columns).to_polars()


def _numbers_as_shown(source: str, book: fastexcel.ExcelReader, text: pl.DataFrame) -> pl.DataFrame:
    """Every number cell as the decimal the spreadsheet shows: the shortest that gives back its
    double (169039555.94, not calamine's text 169039555.939999998), an integral one without
    ".0"; every other cell as its text.

    calamine shows a cell's type only by how it converts, so the sheet is read up to three
    times: as text; then, for the columns with a cell written like a number, as booleans, where
    a number or boolean cell gives a value and a text cell none (even "true"), and a boolean
    cell's text says true or false; and, for the columns with number cells, as floats, where a
    number cell gives its double. The float read alone cannot tell the number 123 from the text
    "0123" (it parses the text), which would lose an account number's leading zero: hence the
    boolean read.
    """
    if text.width == 0:
        return text
    looks_numeric = text.select(pl.all().str.contains(_NUMBER_TEXT).any()).row(0)
    candidates = [i for i, found in enumerate(looks_numeric) if found]
    if not candidates:  # the parses below cost as much as the text read: skip them if we can
        return text
    flags = _load(book, "boolean", candidates)
    is_number = {
        i: flags.to_series(j).is_not_null()
        & text.to_series(i).is_in(_BOOLEAN_TEXTS).not_().fill_null(True)
        for j, i in enumerate(candidates)
    }
    with_numbers = [i for i in candidates if is_number[i].any()]
    if not with_numbers:
        return text
    doubles = _load(book, "float", with_numbers)
    _refuse_inexact(source, text, doubles, {i: is_number[i] for i in with_numbers})
    shown = [
        pl.select(
            pl.when(is_number[i])
            .then(_shortest(doubles.to_series(j)))
            .otherwise(text.to_series(i))
            .alias(text.columns[i])
        ).to_series()
        for j, i in enumerate(with_numbers)
    ]
    return text.with_columns(shown)


def _refuse_inexact(
    source: str, text: pl.DataFrame, doubles: pl.DataFrame, is_number: dict[int, pl.Series]
) -> None:
    """Refuse number cells of 16 digits or more: Excel keeps 15 (an account number typed as a
    number is stored with its last digits zeroed), so their digits are not the ones typed."""
    found: list[tuple[int, int, Problem]] = []
    for j, (i, numbers) in enumerate(is_number.items()):
        double = doubles.to_series(j)
        long = (numbers & (double.abs() >= INEXACT_FROM)).fill_null(False)
        for row in long.arg_true().head(SHOWN_INEXACT).to_list():
            shown = _shortest(double.slice(row, 1)).item()
            message = (
                "is a number cell of 16 digits or more, which a spreadsheet does not keep "
                "exactly (15 digits): format the column as text and type the digits again"
            )
            problem = Problem(source, row + FIRST_RECORD_ROW, text.columns[i], shown, message)
            found.append((row, i, problem))
    if found:
        problems = [problem for _, _, problem in sorted(found, key=lambda f: f[:2])]
        raise RegistryValidationError(source, problems[:SHOWN_INEXACT])


def _shortest(doubles: pl.Series) -> pl.Series:
    """The shortest decimal that round-trips each double, positional, integral without ".0".

    polars formats a double as Python's repr does (shortest round-trip), with an exponent for
    very large or small ones, which Decimal writes out positionally (no float is involved)."""
    text = doubles.cast(pl.String)
    exponent = text.str.contains("e")
    if exponent.any():
        text = pl.select(
            pl.when(exponent)
            .then(text.map_elements(_positional, return_dtype=pl.String))
            .otherwise(text)
        ).to_series()
    return text.str.strip_suffix(".0")


def _positional(shortest: str) -> str:
    return format(Decimal(shortest), "f")


def error_message(sheet: str, ref: str) -> str:
    return (
        f"cell {sheet}!{ref} is an error (as a lookup that found nothing leaves), not a value: "
        "correct it at its source, or clear the cell if the value is unknown"
    )


def _error_problems(source: str, sheet: _xlsx.FirstSheet, frame: pl.DataFrame) -> list[Problem]:
    problems = []
    for error in sheet.errors:
        index = _xlsx.column_index(error.cell.column)
        column = frame.columns[index] if index < frame.width else None
        message = error_message(sheet.name, error.cell.ref)
        problems.append(Problem(source, error.cell.row, column, error.value or None, message))
    hidden = sheet.error_count - len(sheet.errors)
    if hidden > 0:
        problems.append(Problem(source, None, None, None, f"and {hidden:,} more error cells"))
    return problems


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


def _not_utf8(path: Path) -> str:
    """Where a CSV stops being UTF-8, and how to save it as UTF-8; named GBK when all of it
    reads as GB18030 (its superset), as Excel in China saves "CSV (逗号分隔)". Only a refusal,
    never a guess: the same bytes may be another encoding, and a name read wrongly would be
    imported wrongly."""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    gbk = codecs.getincrementaldecoder("gb18030")()
    offset, lines, bad_at, is_gbk = 0, 1, None, True
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            if bad_at is None:
                try:
                    utf8.decode(chunk)
                    lines += chunk.count(b"\n")
                except UnicodeDecodeError as exc:
                    bad_at = offset + exc.start
                    lines += chunk.count(b"\n", 0, exc.start)
            try:
                gbk.decode(chunk)
            except UnicodeDecodeError:
                is_gbk = False
                break
            offset += len(chunk)
    where = f"line {lines}" if bad_at is None else f"line {lines}, byte {bad_at + 1:,}"
    if is_gbk:
        return (
            f"{path.name}: is not UTF-8 ({where}); it looks GBK-encoded, as Excel in China "
            'saves CSV: save it as UTF-8 (in Excel: 另存为 "CSV UTF-8 (逗号分隔)"; or '
            f"`iconv -f GBK -t UTF-8 {path.name} > {path.stem}-utf8.csv`) and import that"
        )
    return f"{path.name}: is not UTF-8 ({where}): save it as UTF-8 CSV and import that"


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
