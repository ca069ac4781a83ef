"""Finding: no bounds on imports. A 7 MB XLSX zip bomb grew to 8.4 GB RSS; a CSV with 1,000,000
columns to 1.4 GB.

Now an XLSX file is measured from its zip directory (uncompressed size, compression ratio) and
inflated once as a stream that stops at each part's declared size; a CSV's columns are counted
on its header line and its rows by a streaming count; a Parquet file's shape comes from its
metadata: all before the file is parsed. Each refusal names the file, the limit and a way out.
The bombs are built here: one repeated deflate block (small on disk) declared huge, or declared
small while it inflates far beyond.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import polars as pl
import pytest

from subsidy.registry.errors import RegistryFileError, RegistryValidationError
from subsidy.registry.limits import ImportLimits
from subsidy.registry.reader import read_source
from subsidy.registry.schema import ENTERPRISES
from tests.subsidy.factories import enterprise, firms, write_csv, write_xlsx

ROW_XML = b'<row r="2"><c r="A2" t="inlineStr"><is><t>x</t></is></c></row>'
LIMITS = ImportLimits(
    max_rows=1000,
    max_columns=32,
    max_cell_chars=100,
    max_xlsx_bytes=1 << 30,
    max_xlsx_ratio=200,
    max_xlsx_cells=1_000_000,
)


def _repeated_deflate(unit: bytes, times: int) -> bytes:
    """A raw deflate stream of `unit` x `times`, from one compressed block repeated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(unit) + compressor.flush(zlib.Z_FULL_FLUSH)
    return block * times + compressor.flush(zlib.Z_FINISH)


def _zip(path: Path, members: list[tuple[str, bytes, int, int]]) -> Path:
    """A zip of (name, raw deflate, crc, declared size) members, written by hand so that the
    declared sizes are whatever the test says."""
    out, directory = bytearray(), bytearray()
    for name, data, crc, size in members:
        encoded = name.encode()
        offset = len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(data), size,
                           len(encoded), 0) + encoded + data  # fmt: skip
        directory += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc,
                                 len(data), size, len(encoded), 0, 0, 0, 0, 0,
                                 offset) + encoded  # fmt: skip
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members),
                      len(directory), len(out), 0)  # fmt: skip
    path.write_bytes(bytes(out + directory + end))
    return path


def _small(text: bytes) -> tuple[bytes, int, int]:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(text) + compressor.flush(), zlib.crc32(text), len(text)


WORKBOOK = (
    b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    b'<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
RELS = (
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="http://schemas.'
    b'openxmlformats.org/officeDocument/2006/relationships/worksheet"/></Relationships>'
)
CONTENT_TYPES = (
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    b'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    b'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
    b'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
    b'worksheet+xml"/></Types>'
)
ROOT_RELS = (
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Target="xl/workbook.xml" Type="http://schemas.openxmlformats.'
    b'org/officeDocument/2006/relationships/officeDocument"/></Relationships>'
)


def _bomb(path: Path, inflated_mib: int, declared_size: int | None = None) -> Path:
    """An XLSX whose sheet is `inflated_mib` MiB of the same rows (padded with blanks, as XML
    allows), deflated once and repeated. Its CRC is not computed: the importer must refuse it
    before inflating anything."""
    row = ROW_XML + b" " * (4096 - len(ROW_XML))
    data = _repeated_deflate(row * 256, inflated_mib)
    size = declared_size if declared_size is not None else inflated_mib << 20
    return _zip(
        path,
        [
            ("[Content_Types].xml", *_small(CONTENT_TYPES)),
            ("_rels/.rels", *_small(ROOT_RELS)),
            ("xl/workbook.xml", *_small(WORKBOOK)),
            ("xl/_rels/workbook.xml.rels", *_small(RELS)),
            ("xl/worksheets/sheet1.xml", data, 0, size),
        ],
    )


def _peak_rss_of_reading(path: Path) -> tuple[str, int]:
    """Read `path` in a fresh process: (what it said, its peak RSS in MiB)."""
    # VmHWM, not getrusage: ru_maxrss survives exec, so it would report the forking pytest's
    # own peak (hundreds of MiB late in a full run) instead of the reader's.
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from subsidy.registry.reader import read_source\n"
        "try:\n"
        "    read_source(Path(sys.argv[1]))\n"
        "    said = 'read'\n"
        "except Exception as exc:\n"
        "    said = f'{type(exc).__name__}: {exc}'\n"
        "print(said)\n"
        "status = open('/proc/self/status').read().splitlines()\n"
        "print(next(int(s.split()[1]) for s in status if s.startswith('VmHWM:')) // 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    said, peak = done.stdout.strip().rsplit("\n", 1)
    return said, int(peak)


def test_a_zip_bomb_is_refused_from_its_directory_without_inflating(tmp_path: Path) -> None:
    bomb = _bomb(tmp_path / "enterprises.xlsx", inflated_mib=3 << 10)  # 3 GiB inflated
    assert bomb.stat().st_size < 7 << 20  # the finding's was 7 MB
    started = time.monotonic()
    said, peak_mib = _peak_rss_of_reading(bomb)
    assert said.startswith("RegistryFileError: enterprises.xlsx: inflates to 3,")
    assert "QINQING_IMPORT_MAX_XLSX_BYTES" in said
    assert "split the file" in said
    assert peak_mib < 400
    assert time.monotonic() - started < 60  # refused, not inflated


def test_a_zip_bomb_within_the_size_limit_is_refused_by_its_ratio(tmp_path: Path) -> None:
    bomb = _bomb(tmp_path / "enterprises.xlsx", inflated_mib=64)
    with pytest.raises(RegistryFileError, match=r"inflates [0-9,]+ times its compressed size"):
        read_source(bomb)


def test_a_part_that_inflates_beyond_its_declared_size_is_refused(tmp_path: Path) -> None:
    lying = _bomb(tmp_path / "enterprises.xlsx", inflated_mib=64, declared_size=4096)
    with pytest.raises(RegistryFileError, match=r"enterprises\.xlsx: cannot be read as xlsx"):
        read_source(lying, LIMITS)


def test_a_million_columns_are_refused_from_the_header_line(tmp_path: Path) -> None:
    wide = tmp_path / "enterprises.csv"
    with wide.open("w") as file:
        file.write(",".join(f"c{i}" for i in range(1_000_000)) + "\n")
        file.write(",".join("1" for _ in range(1_000_000)) + "\n")
    started = time.monotonic()
    said, peak_mib = _peak_rss_of_reading(wide)
    assert said.startswith("RegistryFileError: enterprises.csv: row 1, the header, is longer")
    assert "256 columns" in said
    assert "keep only the registry's columns" in said
    assert peak_mib < 400
    assert time.monotonic() - started < 60


def test_columns_over_the_limit_are_refused_by_count(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "e.csv", [{f"c{i}": "1" for i in range(40)}])
    with pytest.raises(RegistryFileError, match=r"e.csv: has 40 columns; .* at most 32"):
        read_source(path, LIMITS)


def test_rows_over_the_limit_are_refused_before_parsing(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "e.csv", firms(1001))
    with pytest.raises(RegistryFileError, match=r"e.csv: has 1,001 rows; .*1,000.*split the file"):
        read_source(path, LIMITS)


def test_xlsx_rows_and_columns_are_checked_from_the_dimension(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "e.xlsx", firms(1001), ENTERPRISES)
    with pytest.raises(RegistryFileError, match=r"e.xlsx: has 1,001 rows"):
        read_source(path, LIMITS)


def test_parquet_rows_and_columns_come_from_its_metadata(tmp_path: Path) -> None:
    path = tmp_path / "e.parquet"
    pl.DataFrame({f"c{i}": [1, 2] for i in range(40)}).write_parquet(path)
    with pytest.raises(RegistryFileError, match=r"e.parquet: has 40 columns"):
        read_source(path, LIMITS)


@pytest.mark.parametrize("suffix", ["csv", "xlsx", "parquet"])
def test_a_long_cell_is_refused_by_row_and_column(tmp_path: Path, suffix: str) -> None:
    rows = [enterprise(1), enterprise(2, name="x" * 101)]
    path = tmp_path / f"e.{suffix}"
    if suffix == "csv":
        write_csv(path, rows)
    elif suffix == "xlsx":
        write_xlsx(path, rows, ENTERPRISES)
    else:
        pl.DataFrame(rows).write_parquet(path)
    with pytest.raises(RegistryValidationError) as refused:
        read_source(path, LIMITS)
    [problem] = refused.value.problems
    assert (problem.row, problem.column) == (3, "name")
    assert "has 101 characters; a cell may have at most 100" in problem.message


def test_the_defaults_take_a_real_registry(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "e.xlsx", firms(50), ENTERPRISES)
    assert read_source(path).height == 50


def _sheet_of(path: Path, sheet_xml: bytes) -> Path:
    return _zip(
        path,
        [
            ("[Content_Types].xml", *_small(CONTENT_TYPES)),
            ("_rels/.rels", *_small(ROOT_RELS)),
            ("xl/workbook.xml", *_small(WORKBOOK)),
            ("xl/_rels/workbook.xml.rels", *_small(RELS)),
            ("xl/worksheets/sheet1.xml", *_small(sheet_xml)),
        ],
    )


def test_two_cells_far_apart_are_refused_before_calamine_allocates_their_span(
    tmp_path: Path,
) -> None:
    """1.4 KB on disk; on main calamine asked for 8 GiB at once (it allocates the span whole)."""
    sparse = _sheet_of(
        tmp_path / "enterprises.xlsx",
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>uscc</t></is></c></row>'
        b'<row r="1048576"><c r="IV1048576" t="inlineStr"><is><t>x</t></is></c></row>'
        b"</sheetData></worksheet>",
    )
    said, peak_mib = _peak_rss_of_reading(sparse)
    assert said.startswith(
        "RegistryFileError: enterprises.xlsx: sheet Sheet1 spans 1,048,576 rows x 256 columns"
    )
    assert "QINQING_IMPORT_MAX_XLSX_CELLS" in said
    assert "split the file" in said
    assert peak_mib < 400


def test_a_cell_past_the_column_limit_is_named(tmp_path: Path) -> None:
    wide = _sheet_of(
        tmp_path / "e.xlsx",
        b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<x:sheetData><x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>uscc</x:t></x:is>'
        b'</x:c><x:c r="AZ1" t="inlineStr"><x:is><x:t>x</x:t></x:is></x:c></x:row>'
        b"</x:sheetData></x:worksheet>",
    )
    with pytest.raises(RegistryFileError, match=r"e.xlsx: cell Sheet1!AZ1 is in column 52; .*32"):
        read_source(wide, LIMITS)


def test_a_bank_statement_is_bounded_as_a_registry_file(tmp_path: Path) -> None:
    from payouts.gateways.errors import BankFileError
    from payouts.statement import read_statement

    bomb = _bomb(tmp_path / "statement.xlsx", inflated_mib=64)
    with pytest.raises(BankFileError) as refused:
        read_statement(bomb)
    [problem] = refused.value.problems
    assert problem.message.startswith("inflates ")
    assert "QINQING_IMPORT_MAX_XLSX_RATIO" in problem.message
    wide = tmp_path / "statement.csv"
    wide.write_text(",".join(f"c{i}" for i in range(100_000)) + "\n")
    with pytest.raises(BankFileError, match="row 1, the header, is longer"):
        read_statement(wide)
