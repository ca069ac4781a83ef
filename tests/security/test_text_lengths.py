"""Finding: a 20-million-character firm name was accepted.

Now each text column of the registry has a real-world bound (`registry/schema.py`) and a longer
cell is a problem naming its row and column, like any other; control characters such as NUL (which
PostgreSQL cannot store) are refused the same way. The API's request fields are bounded too
(see test_extra_fields and test_edge_values).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from subsidy.registry.errors import Problem, RegistryValidationError
from subsidy.registry.reader import read_source
from subsidy.registry.schema import ENTERPRISES, NAME_LENGTH
from subsidy.registry.validation import validate
from tests.subsidy.factories import enterprise, firms, write_csv


def _problems(path: Path) -> list[Problem]:
    with pytest.raises(RegistryValidationError) as refused:
        validate(read_source(path), ENTERPRISES, path.name)
    return refused.value.problems


def test_a_twenty_million_character_name_is_refused_by_row_and_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "e.csv", [*firms(3), enterprise(4, name="x" * 20_000_000)])
    with pytest.raises(RegistryValidationError) as refused:
        read_source(path)  # longer than any cell may be: refused before validation
    [problem] = refused.value.problems
    assert (problem.row, problem.column) == (5, "name")
    assert "has 20,000,000 characters" in problem.message


@pytest.mark.parametrize(
    ("column", "length"), [("name", NAME_LENGTH + 1), ("district", 101), ("bank_account", 35)]
)
def test_each_text_column_has_its_bound(tmp_path: Path, column: str, length: int) -> None:
    path = write_csv(tmp_path / "e.csv", [enterprise(1), enterprise(2, **{column: "9" * length})])
    [problem] = _problems(path)
    assert (problem.row, problem.column) == (3, column)
    assert problem.message == f"has {length} characters; at most {length - 1} are allowed"
    assert len(str(problem)) < 200  # the value is quoted shortened


def test_a_name_at_its_bound_is_accepted(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "e.csv", [enterprise(1, name="名" * NAME_LENGTH)])
    assert validate(read_source(path), ENTERPRISES, "e.csv")["name"][0] == "名" * NAME_LENGTH


def test_a_nul_in_a_name_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "e.csv", [enterprise(1, name="Acme\x00 Ltd")])
    [problem] = _problems(path)
    assert (problem.row, problem.column) == (2, "name")
    assert problem.message == "holds a control character (such as NUL): remove it"
