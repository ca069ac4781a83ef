"""Finding: for a CSV with mixed line endings the user was shown polars' advice to set
`truncate_ragged_lines`.

Now a row with more fields than the header is named in our words, by row and line; a carriage
return alone (an old Mac line end mixed into the file) is named by line; a file mixing Windows
(\\r\\n) and Unix (\\n) line ends, otherwise valid, imports.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from subsidy.registry.errors import RegistryValidationError
from subsidy.registry.reader import read_source
from subsidy.registry.schema import ENTERPRISES
from subsidy.registry.validation import validate
from tests.subsidy.factories import firms


def _lines() -> list[bytes]:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=ENTERPRISES.names, lineterminator="\n")
    writer.writeheader()
    writer.writerows(firms(6))
    return [line.encode() for line in out.getvalue().splitlines()]


def test_mixed_windows_and_unix_line_endings_import(tmp_path: Path) -> None:
    lines = _lines()
    path = tmp_path / "e.csv"
    path.write_bytes(b"".join(line + (b"\r\n" if i % 2 else b"\n") for i, line in enumerate(lines)))
    frame = validate(read_source(path), ENTERPRISES, path.name)
    assert frame.height == 6
    assert not any(name.endswith("\r") for name in frame["name"].to_list())
    assert frame["bank_account"].to_list() == [f["bank_account"] or None for f in firms(6)]


def test_a_row_with_more_fields_than_the_header_is_named(tmp_path: Path) -> None:
    lines = _lines()
    lines[3] += b",surplus"
    path = tmp_path / "e.csv"
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    with pytest.raises(RegistryValidationError) as refused:
        read_source(path)
    [problem] = refused.value.problems
    assert str(problem) == (
        "e.csv, row 4: has 15 fields, the header has 14 (line 4): quote a value that holds a comma"
    )
    assert "truncate_ragged_lines" not in str(refused.value)


def test_a_lone_carriage_return_is_named_by_line(tmp_path: Path) -> None:
    lines = _lines()
    path = tmp_path / "e.csv"
    path.write_bytes(b"\n".join(lines[:3]) + b"\r" + b"\n".join(lines[3:]) + b"\n")
    with pytest.raises(RegistryValidationError) as refused:
        read_source(path)
    [problem] = refused.value.problems
    assert "line 3 holds a carriage return (\\r)" in problem.message
    assert "save the file with Windows (\\r\\n) or Unix (\\n) line endings" in problem.message
    assert "truncate_ragged_lines" not in str(refused.value)
