"""Finding: an XLSX formula cell in an optional column (`=1+1` as bank_account) imported silently
as NULL (calamine reads a formula's cached value, and a file never opened in Excel has none).

Now any formula cell, in any column, refuses the whole file, each named by sheet, cell and column.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from subsidy import db
from subsidy.registry import service
from subsidy.registry.errors import RegistryValidationError
from subsidy.registry.models import Enterprise
from subsidy.registry.schema import ENTERPRISES
from tests.subsidy.factories import firms, write_xlsx


def _with_formulas(path: Path, cells: dict[str, str]) -> Path:
    write_xlsx(path, firms(8), ENTERPRISES)
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Sheet1"
    for ref, formula in cells.items():
        sheet[ref] = formula
    workbook.save(path)
    return path


def test_a_formula_in_an_optional_column_refuses_the_import(
    engine: Engine, data_dir: Path, tmp_path: Path
) -> None:
    path = _with_formulas(tmp_path / "enterprises.xlsx", {"N7": "=1+1"})  # N: bank_account
    with pytest.raises(RegistryValidationError) as refused, db.session_scope(engine) as session:
        service.import_file(session, ENTERPRISES, path, data_dir=data_dir)
    [problem] = refused.value.problems
    assert (problem.file, problem.row, problem.column) == ("enterprises.xlsx", 7, "bank_account")
    assert problem.message == "cell Sheet1!N7 is a formula, not a value: paste values only"
    assert str(problem) == (
        "enterprises.xlsx, row 7, column bank_account: "
        "cell Sheet1!N7 is a formula, not a value: paste values only"
    )
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Enterprise)) == 0


def test_every_formula_is_named_in_any_column(tmp_path: Path) -> None:
    from subsidy.registry.reader import read_source

    path = _with_formulas(
        tmp_path / "e.xlsx", {"B3": '=HYPERLINK("https://example.org","x")', "K5": "=SUM(K2:K4)"}
    )
    with pytest.raises(RegistryValidationError) as refused:
        read_source(path)
    assert [(p.row, p.column, p.message.split(" is ")[0]) for p in refused.value.problems] == [
        (3, "name", "cell Sheet1!B3"),
        (5, "revenue", "cell Sheet1!K5"),
    ]


def test_a_sheet_of_values_imports(engine: Engine, data_dir: Path, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "enterprises.xlsx", firms(8), ENTERPRISES)
    with db.session_scope(engine) as session:
        assert service.import_file(session, ENTERPRISES, path, data_dir=data_dir).row_count == 8


def test_a_formula_in_a_bank_statement_is_refused(tmp_path: Path) -> None:
    from payouts.gateways.errors import BankFileError
    from payouts.statement import STATEMENT_COLUMNS, read_statement

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(STATEMENT_COLUMNS))
    sheet.append(["x"] * len(STATEMENT_COLUMNS))
    sheet["B2"] = "=1+1"
    workbook.save(tmp_path / "statement.xlsx")
    with pytest.raises(BankFileError) as refused:
        read_statement(tmp_path / "statement.xlsx")
    [problem] = refused.value.problems
    assert problem.row == 2
    assert problem.message.endswith("is a formula, not a value: paste values only")
