"""What an XLSX file is, read from its zip structure before a spreadsheet library opens it.

An XLSX file is a zip of XML parts. Its directory declares each part's uncompressed size, which
bounds a zip bomb before anything is inflated; every part is then inflated once, as a stream,
by `zipfile`, which stops at the declared size and checks the CRC, so a part that lies about its
size is refused rather than believed. On the way the first sheet (the one the importer reads) is
searched for formula cells (`<f>`), which calamine would read as their cached value, or as
nothing when the file was never opened in Excel, for cells holding an error value (`t="e"`,
#N/A), which calamine reads as empty, and for its `<dimension>`.
"""

from __future__ import annotations

import functools
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

from subsidy.registry.errors import RegistryFileError
from subsidy.registry.limits import ImportLimits

CHUNK = 1 << 20
SMALL_PART = 8 << 20
"""workbook.xml and its relationships name the sheets; a registry's are under a kilobyte."""
SHOWN_FORMULAS = 100

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_ROOT = re.compile(rb"<(\w+:)?worksheet[\s>]")
_WIDE_CELL = re.compile(rb'r="([A-Z]{2,3})([0-9]{1,7})"')  # `r` alone ends in r="
"""A cell past column Z: none in a registry sheet, so finding them all costs nothing there."""
NARROW = 26  # a sheet whose cells are all in columns A to Z is taken as 26 wide


@dataclass(frozen=True)
class _Patterns:
    """The sheet's tags, spelled with its namespace prefix (`x:c` or `c`): a literal to look for
    is many times faster than a tag with an optional prefix."""

    formula: re.Pattern[bytes]
    cell: re.Pattern[bytes]
    cell_or_formula: re.Pattern[bytes]
    row: re.Pattern[bytes]
    dimension: re.Pattern[bytes]
    error_cell: re.Pattern[bytes]


@functools.cache
def _patterns(prefix: bytes) -> _Patterns:
    tag = re.escape(b"<" + prefix)
    formula = tag + rb"f[\s>/]"
    cell = tag + rb'c\s[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"'
    return _Patterns(
        formula=re.compile(formula),
        cell=re.compile(cell),
        cell_or_formula=re.compile(cell + rb"|" + formula),
        row=re.compile(tag + rb'row\s[^>]*?\br="([0-9]{1,7})"'),
        dimension=re.compile(
            tag + rb'dimension\s+ref="([A-Z]{1,3})([0-9]{1,7})(?::([A-Z]{1,3})([0-9]{1,7}))?"'
        ),
        error_cell=re.compile(
            tag + rb'c\s([^>]*?\bt="e"[^>]*)>(?:<' + re.escape(prefix) + rb"v>([^<]{0,32}))?"
        ),
    )


@dataclass(frozen=True)
class FormulaCell:
    column: str
    """The column's letters, e.g. G."""
    row: int

    @property
    def ref(self) -> str:
        return f"{self.column}{self.row}"


@dataclass(frozen=True)
class ErrorCell:
    """A cell holding an error value (#N/A, #DIV/0!, ...): calamine reads it as empty."""

    cell: FormulaCell
    value: str


_REF = re.compile(rb'\br="([A-Z]{1,3})([0-9]{1,7})"')


@dataclass
class FirstSheet:
    name: str
    rows: int | None = None
    """From the sheet's `<dimension>`, when it has one (rows including the header)."""
    columns: int | None = None
    formulas: list[FormulaCell] = field(default_factory=list)
    formula_count: int = 0
    errors: list[ErrorCell] = field(default_factory=list)
    error_count: int = 0
    last_row: int = 0
    """The last `<row r=...>`: rows come in ascending order."""
    prefix: bytes | None = None
    """The namespace prefix of its tags (`x:`), or b"" (none); None until its root is read."""

    @property
    def tags(self) -> _Patterns:
        return _patterns(self.prefix or b"")


def column_index(letters: str) -> int:
    """A → 0, Z → 25, AA → 26."""
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def inspect(path: Path, limits: ImportLimits) -> FirstSheet:
    """The first sheet's name, dimension and formula cells, or RegistryFileError for a file
    that inflates too much (in all or relative to its compressed size) or whose first sheet
    spans more cells or columns than the limits (calamine allocates the span whole: two cells
    far apart in a 1 KB file would take gigabytes)."""
    try:
        with zipfile.ZipFile(path) as archive:
            _check_directory(path.name, archive, limits.max_xlsx_bytes, limits.max_xlsx_ratio)
            name, part = _first_sheet(path.name, archive)
            sheet = FirstSheet(name)
            for info in archive.infolist():
                is_first = info.filename == part
                _inflate(path.name, archive, info, (sheet, limits) if is_first else None)
            _check_span(path.name, sheet, NARROW, limits)
            if sheet.rows is not None and sheet.columns is not None:  # its own <dimension>
                declared = FirstSheet(sheet.name, last_row=sheet.rows)
                _check_span(path.name, declared, sheet.columns, limits)
            return sheet
    except zipfile.BadZipFile as exc:
        raise RegistryFileError(
            f"{path.name}: cannot be read as xlsx: not a zip archive ({exc})"
        ) from exc


def _check_directory(source: str, archive: zipfile.ZipFile, max_bytes: int, max_ratio: int) -> None:
    parts = archive.infolist()
    inflated = sum(p.file_size for p in parts)
    compressed = sum(p.compress_size for p in parts)
    if inflated > max_bytes:
        raise RegistryFileError(
            f"{source}: inflates to {inflated:,} bytes; an XLSX file may inflate to at most "
            f"{max_bytes:,} (QINQING_IMPORT_MAX_XLSX_BYTES): split the file, or save it as CSV "
            "or Parquet"
        )
    if inflated > max_ratio * max(compressed, 1):
        raise RegistryFileError(
            f"{source}: inflates {inflated / max(compressed, 1):,.0f} times its compressed size "
            f"({inflated:,} bytes); a spreadsheet inflates at most {max_ratio:,} times "
            "(QINQING_IMPORT_MAX_XLSX_RATIO): this is not a registry export; save the registry "
            "again from its source, or as CSV or Parquet"
        )


def _first_sheet(source: str, archive: zipfile.ZipFile) -> tuple[str, str]:
    """(name, part) of the workbook's first sheet, the one the importer reads."""
    workbook = _small_xml(source, archive, "xl/workbook.xml")
    sheet = workbook.find(f"{_MAIN}sheets/{_MAIN}sheet")
    if sheet is None:
        raise RegistryFileError(f"{source}: the workbook has no sheet")
    rels = _small_xml(source, archive, "xl/_rels/workbook.xml.rels")
    wanted = sheet.get(_R_ID)
    target = next(
        (r.get("Target") for r in rels.iter(f"{_RELS}Relationship") if r.get("Id") == wanted), None
    )
    if target is None:
        raise RegistryFileError(f"{source}: the workbook does not say where its first sheet is")
    part = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
    return sheet.get("name", "Sheet1"), part


def _small_xml(source: str, archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    try:
        info = archive.getinfo(name)
    except KeyError as exc:
        raise RegistryFileError(f"{source}: is not an XLSX workbook (no {name})") from exc
    if info.file_size > SMALL_PART:
        raise RegistryFileError(f"{source}: {name} has {info.file_size:,} bytes; not a registry")
    try:
        # The two small parts naming the sheets; expat expands no external entities and
        # refuses entity amplification (Python >= 3.11), and the part's size is bounded above.
        return ElementTree.fromstring(archive.read(info))  # noqa: S314
    except ElementTree.ParseError as exc:
        raise RegistryFileError(f"{source}: {name} is not well-formed XML: {exc}") from exc


def _inflate(
    source: str,
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    sheet: tuple[FirstSheet, ImportLimits] | None,
) -> None:
    """Inflate one part as a stream (zipfile stops at its declared size and checks its CRC);
    when it is the first sheet, note its dimension, span and formula cells on the way."""
    try:
        _scan(source, archive, info, sheet)
    except (zipfile.BadZipFile, zlib.error) as exc:
        raise RegistryFileError(
            f"{source}: cannot be read as xlsx: its part {info.filename} is damaged or "
            f"inflates beyond its declared size ({exc}); save the registry again from its source"
        ) from exc


def _scan(
    source: str,
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    first: tuple[FirstSheet, ImportLimits] | None,
) -> None:
    carry, last_cell = b"", None
    with archive.open(info) as part:
        while chunk := part.read(CHUNK):
            if first is None:
                continue
            sheet, limits = first
            text = carry + chunk
            cut = text.rfind(b"<")  # a tag may straddle two chunks: keep it for the next
            cut = len(text) if cut <= 0 else cut
            scanned, carry = text[:cut], text[cut:]
            if sheet.prefix is None:
                root = _ROOT.search(scanned)
                sheet.prefix = root.group(1) or b"" if root else b""
            if sheet.rows is None and sheet.formula_count == 0 and last_cell is None:
                _note_dimension(scanned, sheet)
            _note_span(source, scanned, sheet, limits)
            last_cell = _note_formulas(scanned, sheet, last_cell)
            _note_errors(scanned, sheet)
    if first is not None and carry:
        _note_span(source, carry, *first)
        _note_formulas(carry, first[0], last_cell)
        _note_errors(carry, first[0])


def _note_span(source: str, text: bytes, sheet: FirstSheet, limits: ImportLimits) -> None:
    last_row = _last(sheet.tags.row, text)
    if last_row is not None:
        sheet.last_row = max(sheet.last_row, int(last_row.group(1)))
    for wide in _WIDE_CELL.finditer(text):
        _check_span(source, sheet, column_index(wide.group(1).decode()) + 1, limits, wide)


def _check_span(
    source: str,
    sheet: FirstSheet,
    columns: int,
    limits: ImportLimits,
    cell: re.Match[bytes] | None = None,
) -> None:
    where = f"cell {sheet.name}!{cell.group(1).decode()}{cell.group(2).decode()}" if cell else ""
    if cell is not None and columns > limits.max_columns:
        raise RegistryFileError(
            f"{source}: {where} is in column {columns:,}; a registry file may have at most "
            f"{limits.max_columns:,} columns (QINQING_IMPORT_MAX_COLUMNS): keep only the "
            "registry's columns"
        )
    if sheet.last_row * columns > limits.max_xlsx_cells:
        raise RegistryFileError(
            f"{source}: sheet {sheet.name} spans {sheet.last_row:,} rows x {columns:,} "
            f"columns; a sheet may span at most {limits.max_xlsx_cells:,} cells "
            "(QINQING_IMPORT_MAX_XLSX_CELLS): delete the empty rows and columns at its end, "
            "or split the file"
        )


def _note_dimension(text: bytes, sheet: FirstSheet) -> None:
    found = sheet.tags.dimension.search(text)
    if found is None or found.group(3) is None:
        return
    first_column, first_row, last_column, last_row = found.groups()
    sheet.columns = column_index(last_column.decode()) - column_index(first_column.decode()) + 1
    sheet.rows = int(last_row) - int(first_row) + 1


def _note_formulas(
    text: bytes, sheet: FirstSheet, last_cell: FormulaCell | None
) -> FormulaCell | None:
    """The cell open at the end of `text` (a formula may follow in the next chunk)."""
    if sheet.tags.formula.search(text) is None:  # the usual case, at the speed of one search
        return _last_cell(sheet, text) or last_cell
    for found in sheet.tags.cell_or_formula.finditer(text):
        if found.group(1) is not None:
            last_cell = FormulaCell(found.group(1).decode(), int(found.group(2)))
        elif last_cell is not None:
            sheet.formula_count += 1
            if len(sheet.formulas) < SHOWN_FORMULAS and last_cell not in sheet.formulas:
                sheet.formulas.append(last_cell)
    return last_cell


def _note_errors(text: bytes, sheet: FirstSheet) -> None:
    """Cells holding an error value, pasted from a formula's result (#N/A from a lookup): they
    would read as empty, an optional amount silently missing. A tag is never cut between two
    chunks; its value may be, and is then not shown."""
    if b't="e"' not in text:  # the usual case, at the speed of one search
        return
    formula = b"<" + (sheet.prefix or b"") + b"f"
    for found in sheet.tags.error_cell.finditer(text):
        ref = _REF.search(found.group(1))
        if ref is None or text.startswith(formula, found.end()):  # a formula: named as one
            continue
        sheet.error_count += 1
        if len(sheet.errors) < SHOWN_FORMULAS:
            cell = FormulaCell(ref.group(1).decode(), int(ref.group(2)))
            value = (found.group(2) or b"").decode("utf-8", errors="replace")
            sheet.errors.append(ErrorCell(cell, value))


def _last_cell(sheet: FirstSheet, text: bytes) -> FormulaCell | None:
    found = _last(sheet.tags.cell, text)
    return None if found is None else FormulaCell(found.group(1).decode(), int(found.group(2)))


def _last(pattern: re.Pattern[bytes], text: bytes) -> re.Match[bytes] | None:
    """The last match in `text`, looked for near its end first."""
    for window in (4096, len(text)):
        found = list(pattern.finditer(text, max(0, len(text) - window)))
        if found:
            return found[-1]
        if window >= len(text):
            break
    return None
