"""Reading a registry file (CSV, XLSX or Parquet) into a polars frame, cells untouched.

CSV and XLSX cells are read as text so that the validator, not a type guess, decides what a cell
means and can quote it back to the user. Parquet keeps its own types. Empty rows are kept so that
row numbers match what the user sees in the file.
"""

from __future__ import annotations

from pathlib import Path

import fastexcel
import polars as pl

from subsidy.registry.errors import RegistryFileError

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}


def read_source(path: Path) -> pl.DataFrame:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise RegistryFileError(
            f"{path.name}: unsupported file type {path.suffix or '(none)'!r}; "
            f"use one of {', '.join(FORMATS)}"
        )
    if not path.is_file():
        raise RegistryFileError(f"{path}: no such file")
    try:
        frame = _read(path, fmt)
    except (pl.exceptions.PolarsError, fastexcel.FastExcelError, OSError, ValueError) as exc:
        raise RegistryFileError(f"{path.name}: cannot be read as {fmt}: {exc}") from exc
    if frame.width == 0:
        raise RegistryFileError(f"{path.name}: has no header row")
    return frame


def _read(path: Path, fmt: str) -> pl.DataFrame:
    if fmt == "csv":
        return pl.read_csv(path, infer_schema=False, encoding="utf8", raise_if_empty=True)
    if fmt == "xlsx":
        return pl.read_excel(
            path,
            engine="calamine",
            sheet_id=1,
            read_options={"dtypes": "string"},
            drop_empty_rows=False,
            drop_empty_cols=False,
        )
    return pl.read_parquet(path)
