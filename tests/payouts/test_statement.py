"""The statement file: written and read back exactly; a bad one refused with every problem."""

from __future__ import annotations

import csv
import tempfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payouts.gateways import BankFileError, Faults, SimulatedBank
from payouts.statement import STATEMENT_COLUMNS, StatementLine, read_statement, write_statement
from subsidy.registry.errors import Problem
from tests.payouts.factories import instructions

LINES = [
    StatementLine(date(2020, 6, 1), "SIM001", "payout-item-1", "payment", Decimal("1234.50")),
    StatementLine(date(2020, 6, 1), "SIM002", None, "payment", Decimal("0.01")),
    StatementLine(
        date(2020, 6, 3), "SIM001", "payout-item-1", "return", Decimal("1234.50"), "=AC04 closed"
    ),
]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_statement_reads_back_as_written(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"statement{suffix}"
    write_statement(path, LINES)
    assert read_statement(path) == LINES


def test_an_xlsx_statement_holds_only_text_cells(tmp_path: Path) -> None:
    write_statement(tmp_path / "s.xlsx", LINES)
    sheet = openpyxl.load_workbook(tmp_path / "s.xlsx").active
    assert sheet is not None
    assert {c.data_type for row in sheet.iter_rows() for c in row if c.value is not None} == {"s"}
    assert sheet["C3"].value is None  # no key: an empty cell, not an empty string
    assert sheet["F4"].value == "=AC04 closed"


def test_the_simulated_banks_statement_round_trips(tmp_path: Path) -> None:
    faults = Faults(seed=2, transient_rate=0, lost_answer_rate=0, reject_rate=0.1, return_rate=0.2)
    bank = SimulatedBank(
        tmp_path / "bank.db", faults, clock=lambda: datetime(2020, 6, 1, tzinfo=UTC)
    )
    bank.submit(instructions(50))
    lines = bank.statement(date(2020, 6, 1), date(2020, 6, 1))
    assert {line.kind for line in lines} == {"payment", "return"}
    write_statement(tmp_path / "statement.csv", lines)
    assert read_statement(tmp_path / "statement.csv") == lines
    paid = sum((line.amount for line in lines if line.kind == "payment"), Decimal(0))
    assert paid == bank.paid_total()


@settings(max_examples=25, deadline=None)
@given(
    amounts=st.lists(
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999999999.99"), places=2),
        min_size=1,
        max_size=20,
    ),
    suffix=st.sampled_from([".csv", ".xlsx"]),
)
def test_statement_amounts_are_exact_to_the_fen(amounts: list[Decimal], suffix: str) -> None:
    lines = [
        StatementLine(date(2020, 1, 1), f"R{n}", None, "payment", amount)
        for n, amount in enumerate(amounts)
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"s{suffix}"
        write_statement(path, lines)
        assert read_statement(path) == lines


def test_a_bad_statement_is_refused_with_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "statement.csv"
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(STATEMENT_COLUMNS)
        writer.writerows(
            [
                ["2020-06-01", "R1", "k1", "payment", "100.00", ""],
                ["2020-06-31", "R2", "k2", "payment", "100.00", ""],
                ["2020-06-01", "R3", "k3", "payment", "100.001", ""],
                ["2020-06-01", "R4", "k4", "payment", "-5.00", ""],
                ["2020-06-01", "R5", "k5", "refund", "5.00", ""],
                ["2020-06-01", "", "k6", "payment", "5.00", ""],
                ["20200601", "R7", "k7", "payment", "1,000.00", ""],
                ["2020-06-01", "R1", "k1", "payment", "100.00", ""],
                ["2020-06-02", "R1", "k1", "return", "100.00", "AC04"],
                ["", "R9", "", "payment", "0", ""],
                ["2020-06-01", "R" * 65, "k12", "payment", "1.00", ""],
                ["2020-06-01", "R" * 64, "k13", "payment", "1.00", ""],
            ]
        )
    with pytest.raises(BankFileError) as refused:
        read_statement(path)
    assert refused.value.problems == [
        Problem("statement.csv", 3, "value_date", "2020-06-31", "is not a date (YYYY-MM-DD)"),
        Problem("statement.csv", 4, "amount", "100.001", "has more than 2 decimals"),
        Problem("statement.csv", 5, "amount", "-5.00", "must not be negative"),
        Problem("statement.csv", 6, "kind", "refund", "must be payment or return"),
        Problem("statement.csv", 7, "bank_reference", "", "is required"),
        Problem("statement.csv", 8, "value_date", "20200601", "is not a date (YYYY-MM-DD)"),
        Problem(
            "statement.csv",
            8,
            "amount",
            "1,000.00",
            "is not an amount of yuan (digits, a decimal point, e.g. 1234.50)",
        ),
        Problem(
            "statement.csv", 9, "bank_reference", "R1", "appears again as a payment: first on row 2"
        ),
        Problem("statement.csv", 11, "value_date", "", "is required"),
        Problem("statement.csv", 11, "amount", "0", "must be more than zero"),
        Problem("statement.csv", 12, "bank_reference", "R" * 65, "is longer than 64 characters"),
    ]
    assert str(refused.value).startswith("statement.csv: 11 problems; nothing was read")


def test_a_statement_without_its_columns_is_refused_at_the_header(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("date,bank_reference,kind,kind\n", encoding="utf-8")
    with pytest.raises(BankFileError) as refused:
        read_statement(path)
    assert [(p.row, p.column, p.message) for p in refused.value.problems] == [
        (1, "value_date", "column is missing"),
        (1, "amount", "column is missing"),
        (1, "kind", "column appears more than once"),
    ]


def test_an_xlsx_statement_from_a_bank_with_date_and_number_cells(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["value_date", "bank_reference", "kind", "amount"])  # optional columns left out
    sheet.append([datetime(2020, 6, 1), "R1", "payment", 1234.5])
    sheet.append([date(2020, 6, 2), "R2", "payment", 7])
    sheet.append([datetime(2020, 6, 2, 13, 5), "R3", "payment", 1234.567])
    book.save(tmp_path / "s.xlsx")
    with pytest.raises(BankFileError) as refused:
        read_statement(tmp_path / "s.xlsx")
    assert [(p.row, p.column, p.value) for p in refused.value.problems] == [
        (4, "value_date", "2020-06-02T13:05:00"),
        (4, "amount", "1234.567"),
    ]
    sheet.delete_rows(4)
    book.save(tmp_path / "s.xlsx")
    assert read_statement(tmp_path / "s.xlsx") == [
        StatementLine(date(2020, 6, 1), "R1", None, "payment", Decimal("1234.50")),
        StatementLine(date(2020, 6, 2), "R2", None, "payment", Decimal("7.00")),
    ]


def test_statement_lines_refuse_impossible_values() -> None:
    with pytest.raises(ValueError, match="more than 2 decimals"):
        StatementLine(date(2020, 1, 1), "R", None, "payment", Decimal("1.001"))
    with pytest.raises(ValueError, match="between"):
        StatementLine(date(2020, 1, 1), "R", None, "payment", Decimal("-1"))
    with pytest.raises(ValueError, match="payment or return"):
        StatementLine(date(2020, 1, 1), "R", None, "refund", Decimal("1"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Decimal"):
        StatementLine(date(2020, 1, 1), "R", None, "payment", 1.5)  # type: ignore[arg-type]
