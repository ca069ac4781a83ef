"""How large a registry file may be, checked before it is parsed wherever the file says so cheaply.

A CSV's header line gives its columns and a streaming count its rows; a Parquet file's metadata
gives both; an XLSX file's zip directory gives its uncompressed size and compression ratio, and
its sheet's dimension the rows and columns (`_xlsx`). Only then is the file parsed, and the cells
of the frame are measured (vectorised) before validation. Every refusal names the file, the limit
and a way out; the limits are settings (`QINQING_IMPORT_MAX_*`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from subsidy.registry.errors import Problem, RegistryFileError, RegistryValidationError
from subsidy.settings import Settings, get_settings

HEADER_BYTES_PER_COLUMN = 256
"""A header line may have this many bytes per allowed column (names are a few dozen)."""
SHOWN_LONG_CELLS = 100


@dataclass(frozen=True)
class ImportLimits:
    max_rows: int
    max_columns: int
    max_cell_chars: int
    max_xlsx_bytes: int
    max_xlsx_ratio: int
    max_xlsx_cells: int

    @classmethod
    def of(cls, settings: Settings) -> ImportLimits:
        return cls(
            max_rows=settings.import_max_rows,
            max_columns=settings.import_max_columns,
            max_cell_chars=settings.import_max_cell_chars,
            max_xlsx_bytes=settings.import_max_xlsx_bytes,
            max_xlsx_ratio=settings.import_max_xlsx_ratio,
            max_xlsx_cells=settings.import_max_xlsx_cells,
        )

    @classmethod
    def configured(cls) -> ImportLimits:
        return cls.of(get_settings())

    def check_shape(self, source: str, rows: int, columns: int) -> None:
        """`rows` records (the header not counted) and `columns`, as the file declares them."""
        if columns > self.max_columns:
            raise RegistryFileError(
                f"{source}: has {columns:,} columns; a registry file may have at most "
                f"{self.max_columns:,} (QINQING_IMPORT_MAX_COLUMNS): keep only the registry's "
                "columns"
            )
        if rows > self.max_rows:
            raise RegistryFileError(
                f"{source}: has {rows:,} rows; a registry file may have at most "
                f"{self.max_rows:,} (QINQING_IMPORT_MAX_ROWS): split the file"
            )

    def check_csv(self, path: Path) -> None:
        """Columns from the header line alone, then rows by a streaming count: before parsing."""
        budget = self.max_columns * HEADER_BYTES_PER_COLUMN
        with path.open("rb") as file:
            head = file.read(budget + 1)
        line, newline, _ = head.partition(b"\n")
        if not newline and len(head) > budget:
            raise RegistryFileError(
                f"{path.name}: row 1, the header, is longer than {budget:,} bytes, more than "
                f"{self.max_columns:,} columns can need (QINQING_IMPORT_MAX_COLUMNS): keep only "
                "the registry's columns"
            )
        header = next(csv.reader([line.decode("utf-8", errors="replace")]), [])
        self.check_shape(path.name, 0, len(header))
        rows = pl.scan_csv(path, infer_schema=False).select(pl.len()).collect().item()
        self.check_shape(path.name, rows, len(header))

    def check_parquet(self, path: Path) -> None:
        columns = len(pl.read_parquet_schema(path))
        rows = pl.scan_parquet(path).select(pl.len()).collect().item()
        self.check_shape(path.name, rows, columns)

    def check_cells(self, frame: pl.DataFrame, source: str, first_row: int) -> None:
        """Every text cell within `max_cell_chars`, or each longer one named by row and column."""
        texts = [n for n, dtype in frame.schema.items() if dtype == pl.String]
        if not texts:
            return
        lengths = frame.select(pl.col(texts).str.len_chars())
        longest = lengths.select(pl.max_horizontal(pl.all().max())).item()
        if longest is None or longest <= self.max_cell_chars:
            return
        long = (
            lengths.with_row_index("row", offset=first_row)
            .unpivot(index="row", variable_name="column", value_name="chars")
            .filter(pl.col("chars") > self.max_cell_chars)
            .sort("row")
            .head(SHOWN_LONG_CELLS)
        )
        raise RegistryValidationError(
            source,
            [
                Problem(
                    source,
                    row,
                    column,
                    None,
                    f"has {chars:,} characters; a cell may have at most "
                    f"{self.max_cell_chars:,} (QINQING_IMPORT_MAX_CELL_CHARS)",
                )
                for row, column, chars in long.iter_rows()
            ],
        )
