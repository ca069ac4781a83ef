"""The file bank: instruction files written whole and once, result files read whole or refused."""

from __future__ import annotations

import csv
import tempfile
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payouts.gateways import (
    BankFileError,
    FileBank,
    InstructionConflict,
    ItemResult,
    ItemStatus,
)
from payouts.gateways.files import (
    INSTRUCTION_COLUMNS,
    read_instruction_file,
    write_result_file,
)
from subsidy.registry.errors import Problem
from tests.payouts.factories import instruction, instructions

FORMATS = ["csv", "xlsx"]
AWKWARD_NAMES = [
    '=HYPERLINK("http://x","y")',
    "+86 Trading",
    "-1 Ltd",
    "@sum(A1)",
    "#N/A",
    "0012",
    "1234.50",
    "TRUE",
    "2020-06-01",
    '杭州, "引号" 公司\n第二行',
    "  spaced  ",
]


def paid(key: str, reference: str = "R1") -> ItemResult:
    return ItemResult(key, ItemStatus.PAID, reference)


@pytest.mark.parametrize("fmt", FORMATS)
def test_instructions_reach_the_bank_exactly(tmp_path: Path, fmt: str) -> None:
    bank = FileBank(tmp_path, fmt)  # type: ignore[arg-type]
    batch = [instruction(n, payee_name=name) for n, name in enumerate(AWKWARD_NAMES)]
    batch.append(instruction(99, amount=Decimal("99999999999999.99"), memo=""))
    results = bank.submit(batch)
    assert results == [ItemResult(i.idempotency_key, ItemStatus.PENDING) for i in batch]
    written = tmp_path / "outbox" / f"B2020-001.{fmt}"
    assert sorted(p.name for p in (tmp_path / "outbox").iterdir()) == [written.name]
    assert read_instruction_file(written) == batch


def test_an_xlsx_instruction_file_holds_only_text_cells(tmp_path: Path) -> None:
    batch = [instruction(n, payee_name=name) for n, name in enumerate(AWKWARD_NAMES)]
    FileBank(tmp_path, "xlsx").submit(batch)
    sheet = openpyxl.load_workbook(tmp_path / "outbox" / "B2020-001.xlsx").active
    assert sheet is not None
    rows = list(sheet.iter_rows())
    assert [c.value for c in rows[0]] == list(INSTRUCTION_COLUMNS)
    assert {c.data_type for row in rows for c in row if c.value is not None} == {"s"}
    assert [row[3].value for row in rows[1:]] == AWKWARD_NAMES
    assert rows[1][6].value == "1000.50"


def test_a_csv_instruction_file_is_plain_utf8_with_two_decimals(tmp_path: Path) -> None:
    FileBank(tmp_path).submit([instruction(1, amount=Decimal("7"))])
    raw = (tmp_path / "outbox" / "B2020-001.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8").splitlines()))
    assert rows[0] == list(INSTRUCTION_COLUMNS)
    assert rows[1][6] == "7.00"
    assert rows[1][3] == "杭州测试1科技有限公司"


@settings(max_examples=25, deadline=None)
@given(
    amounts=st.lists(
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999999999.99"), places=2),
        min_size=1,
        max_size=20,
    ),
    fmt=st.sampled_from(FORMATS),
)
def test_amounts_round_trip_to_the_fen(amounts: list[Decimal], fmt: str) -> None:
    batch = [instruction(n, amount=amount) for n, amount in enumerate(amounts)]
    with tempfile.TemporaryDirectory() as folder:
        FileBank(folder, fmt).submit(batch)  # type: ignore[arg-type]
        back = read_instruction_file(Path(folder) / "outbox" / f"B2020-001.{fmt}")
    assert [i.amount for i in back] == amounts
    assert all(str(i.amount) == f"{a:.2f}" for i, a in zip(back, amounts, strict=True))


@pytest.mark.parametrize("fmt", FORMATS)
def test_resubmitting_the_same_batch_writes_nothing(tmp_path: Path, fmt: str) -> None:
    bank = FileBank(tmp_path, fmt)  # type: ignore[arg-type]
    bank.submit(instructions(5))
    written = tmp_path / "outbox" / f"B2020-001.{fmt}"
    before = (written.read_bytes(), written.stat().st_mtime_ns)
    again = FileBank(tmp_path, fmt)  # type: ignore[arg-type]
    assert again.submit(instructions(5)) == bank.submit(instructions(5)[::-1])[::-1]
    assert again.submit(instructions(2, start=3)) == again.query(
        [f"payout-item-{n}" for n in (3, 4)]
    )
    assert (written.read_bytes(), written.stat().st_mtime_ns) == before
    assert len(list((tmp_path / "outbox").iterdir())) == 1


def test_other_instructions_under_a_batch_reference_are_refused(tmp_path: Path) -> None:
    bank = FileBank(tmp_path)
    bank.submit(instructions(5))
    written = tmp_path / "outbox" / "B2020-001.csv"
    before = written.read_bytes()
    with pytest.raises(InstructionConflict, match="B2020-001"):
        bank.submit(instructions(6))
    with pytest.raises(InstructionConflict, match="payout-item-2"):
        bank.submit([instruction(2, amount=Decimal("1.00"), batch_ref="B2020-002")])
    with pytest.raises(InstructionConflict, match="B2020-001"):
        FileBank(tmp_path, "xlsx").submit(instructions(1, start=50))
    assert written.read_bytes() == before
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == ["B2020-001.csv"]
    assert bank.query(["payout-item-5"]) == [ItemResult("payout-item-5", ItemStatus.NOT_FOUND)]


def test_each_batch_of_a_call_gets_its_own_file(tmp_path: Path) -> None:
    bank = FileBank(tmp_path)
    bank.submit([*instructions(2), *instructions(2, start=2, batch_ref="B2020-002")])
    assert sorted(p.name for p in (tmp_path / "outbox").iterdir()) == [
        "B2020-001.csv",
        "B2020-002.csv",
    ]


def test_a_batch_reference_that_cannot_name_a_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot name a file"):
        FileBank(tmp_path).submit([instruction(1, batch_ref="../escape")])
    assert list((tmp_path / "outbox").iterdir()) == []


def test_a_batch_written_meanwhile_by_another_worker(tmp_path: Path) -> None:
    """Two workers both found the batch unwritten; the second links onto the first's file."""
    ours, theirs = FileBank(tmp_path), FileBank(tmp_path)
    theirs.submit(instructions(3))
    ours._write("B2020-001", instructions(3)[::-1])  # the same payments: nothing to say
    with pytest.raises(InstructionConflict, match="meanwhile"):
        ours._write("B2020-001", instructions(4))
    assert read_instruction_file(tmp_path / "outbox" / "B2020-001.csv") == instructions(3)
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == ["B2020-001.csv"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_query_answers_from_the_result_files(tmp_path: Path, fmt: str) -> None:
    bank = FileBank(tmp_path)
    bank.submit(instructions(4))
    keys = [f"payout-item-{n}" for n in range(4)] + ["never-sent"]
    refused = ItemResult("payout-item-1", ItemStatus.REJECTED, None, "AC04", "account closed")
    write_result_file(tmp_path / "inbox" / f"2020-06-01.{fmt}", [paid("payout-item-0"), refused])
    assert bank.query(keys) == [
        paid("payout-item-0"),
        refused,
        ItemResult("payout-item-2", ItemStatus.PENDING),
        ItemResult("payout-item-3", ItemStatus.PENDING),
        ItemResult("never-sent", ItemStatus.NOT_FOUND),
    ]
    came_back = ItemResult("payout-item-0", ItemStatus.RETURNED, "R1", "AC04", None)
    write_result_file(tmp_path / "inbox" / f"2020-06-09.{fmt}", [came_back, paid("payout-item-2")])
    assert bank.query(keys)[:3] == [came_back, refused, paid("payout-item-2")]
    assert bank.submit(instructions(1)) == [came_back]


def result_file(path: Path, rows: list[list[str]], header: list[str] | None = None) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(
            header or ["idempotency_key", "status", "bank_reference", "reason_code", "reason"]
        )
        writer.writerows(rows)
    return path


def test_a_bad_result_file_is_refused_naming_row_column_and_value(tmp_path: Path) -> None:
    bank = FileBank(tmp_path)
    bank.submit(instructions(3))
    result_file(tmp_path / "inbox" / "good.csv", [["payout-item-0", "paid", "R0", "", ""]])
    result_file(
        tmp_path / "inbox" / "bad.csv",
        [
            ["payout-item-1", "payed", "R1", "", ""],
            ["", "paid", "R2", "", ""],
            ["payout-item-2", "returned", "", "", "gone"],
            [],
            ["payout-item-1", "rejected", "", "AC01", ""],
            ["payout-item-9", "rejected", "", "", ""],
            ["payout-item-3", "paid", "R" * 65, "", ""],
            ["payout-item-4", "rejected", "", "C" * 17, "the database holds 16"],
        ],
    )
    with pytest.raises(BankFileError) as refused:
        bank.query(["payout-item-0"])
    assert refused.value.problems == [
        Problem("bad.csv", 2, "status", "payed", "must be one of paid, rejected, returned"),
        Problem("bad.csv", 3, "idempotency_key", "", "is required"),
        Problem("bad.csv", 4, "bank_reference", "", "is required when status is returned"),
        Problem("bad.csv", 4, "reason_code", "", "is required when status is returned"),
        Problem("bad.csv", 6, "idempotency_key", "payout-item-1", "appears again: first on row 2"),
        Problem("bad.csv", 7, "reason_code", "", "is required when status is rejected"),
        Problem("bad.csv", 8, "bank_reference", "R" * 65, "is longer than 64 characters"),
        Problem("bad.csv", 9, "reason_code", "C" * 17, "is longer than 16 characters"),
    ]
    assert "bad.csv, row 2, column status: 'payed' must be one of" in str(refused.value)
    (tmp_path / "inbox" / "bad.csv").unlink()
    assert bank.query(["payout-item-0"]) == [paid("payout-item-0", "R0")]


def test_a_result_file_without_a_column_is_refused_at_the_header(tmp_path: Path) -> None:
    result_file(tmp_path / "r.csv", [["k", "paid", "R"]], ["idempotency_key", "status", "bank_ref"])
    (tmp_path / "inbox").mkdir()
    (tmp_path / "r.csv").rename(tmp_path / "inbox" / "r.csv")
    with pytest.raises(BankFileError) as refused:
        FileBank(tmp_path).query(["k"])
    assert [(p.row, p.column, p.message) for p in refused.value.problems] == [
        (1, "bank_reference", "column is missing"),
        (1, "reason_code", "column is missing"),
        (1, "reason", "column is missing"),
    ]


def test_a_result_file_that_is_not_a_spreadsheet_is_refused(tmp_path: Path) -> None:
    bank = FileBank(tmp_path)
    (tmp_path / "inbox" / "r.xlsx").write_bytes(b"not a zip")
    (tmp_path / "inbox" / ".r.csv").write_bytes(b"\xff\xfe garbage")  # a dot: being written
    with pytest.raises(BankFileError, match=r"r\.xlsx: cannot be read as xlsx"):
        bank.query(["k"])


def test_a_later_result_may_only_return_a_paid_key(tmp_path: Path) -> None:
    bank = FileBank(tmp_path)
    refused = ItemResult("k", ItemStatus.REJECTED, None, "AC01", None)
    write_result_file(tmp_path / "inbox" / "1.csv", [refused])
    write_result_file(tmp_path / "inbox" / "2.csv", [paid("k")])
    with pytest.raises(BankFileError) as refused_file:
        bank.query(["k"])
    (problem,) = refused_file.value.problems
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "2.csv",
        2,
        "status",
        "paid",
    )
    assert "follows rejected in 1.csv row 2" in problem.message


def test_an_xlsx_result_file_with_number_and_blank_cells(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["idempotency_key", "status", "bank_reference", "reason_code", "reason", "note"])
    sheet.append([12345, "paid", 987654321, None, None, "ignored"])
    sheet.append([])
    sheet.append(["k2", "rejected", None, "BE01", "name does not match account"])
    book.save(tmp_path / "inbox.xlsx")
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox.xlsx").rename(tmp_path / "inbox" / "r.xlsx")
    assert FileBank(tmp_path).query(["12345", "k2"]) == [
        paid("12345", "987654321"),
        ItemResult("k2", ItemStatus.REJECTED, None, "BE01", "name does not match account"),
    ]


def test_pending_means_instructed_and_not_answered(tmp_path: Path) -> None:
    bank = FileBank(tmp_path)
    assert bank.submit([]) == []
    bank.submit([replace(instruction(1), memo="first")])
    assert bank.query(["payout-item-1"]) == [ItemResult("payout-item-1", ItemStatus.PENDING)]


def test_a_bad_result_file_stops_a_submit_before_it_writes(tmp_path: Path) -> None:
    bank = FileBank(tmp_path)
    result_file(tmp_path / "inbox" / "bad.csv", [["k", "maybe", "", "", ""]])
    with pytest.raises(BankFileError, match=r"bad\.csv"):
        bank.submit(instructions(2))
    assert list((tmp_path / "outbox").iterdir()) == []
