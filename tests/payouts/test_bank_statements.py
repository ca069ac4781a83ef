"""A bank's own statements, camt.053 and MT940, read into the lines reconciliation takes: told
apart by content, several statements per file, reversals as returns, charges as lines with no
key; a bad file refused whole, naming the line and the element or tag."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from payouts.gateways import BankFileError, StatementLine
from payouts.statement import read_statement, statement_format
from subsidy.settings import get_settings
from tests.payouts.iso_samples import SAMPLES

D1, D2 = dt.date(2026, 12, 4), dt.date(2026, 12, 7)
CAMT = SAMPLES / "camt053-two-statements.xml"
MT940 = SAMPLES / "mt940-two-statements.sta"


def line(
    day: dt.date,
    reference: str,
    key: str | None,
    kind: str,
    amount: str,
    reason: str | None = None,
    row: int | None = None,
) -> StatementLine:
    return StatementLine(day, reference, key, kind, Decimal(amount), reason, row)  # type: ignore[arg-type]


def test_a_camt053_with_two_statements_a_reversal_and_charges() -> None:
    lines = read_statement(CAMT)
    assert lines == [
        line(D1, "ICBC20261204000001", "QQ-P0000000001", "payment", "1000.00"),
        line(D1, "ICBC20261204000002", "QQ-P0000000002", "payment", "1000.00"),
        line(D1, "ICBC20261204000003", "QQ-P0000000003", "payment", "1000.00"),
        line(D1, "ICBC20261204000003/CHRG1", None, "payment", "1.00", "bank charges"),
        line(D1, "ICBC2026120400F001", None, "payment", "5.00", "bank charges"),
        line(
            D2,
            "ICBC20261207R00001",
            "QQ-P0000000002",
            "return",
            "1000.00",
            "reversal: AC04 账户已销户",
        ),
    ]
    assert [x.row for x in lines] == [40, 59, 84, 67, 92, 134]  # the lines of the file


def test_an_mt940_with_two_statements_a_reversal_charges_and_chinese_details() -> None:
    lines = read_statement(MT940)
    assert lines == [
        line(D1, "ICBC20261204000001", "QQ-P0000000001", "payment", "1000.00"),
        line(D1, "ICBC20261204000002", "QQ-P0000000002", "payment", "1000.00"),
        line(D1, "ICBC20261204000003", "QQ-P0000000003", "payment", "1000.00"),
        line(D1, "ICBC2026120400F002", None, "payment", "1.00", "bank charges"),
        line(D1, "ICBC2026120400F001", None, "payment", "5.00", "bank charges"),
        line(
            D2,
            "ICBC20261207R00001",
            "QQ-P0000000002",
            "return",
            "1000.00",
            "reversal: 退汇 原交易 QQ-P0000000002 原因：账户已销户",
        ),
    ]
    assert [x.row for x in lines] == [5, 7, 9, 11, 13, 21]


def test_an_mt940_in_gb18030_as_chinese_banks_write_it(tmp_path: Path) -> None:
    path = tmp_path / "statement.940"
    path.write_bytes(MT940.read_text(encoding="utf-8").replace("\n", "\r\n").encode("gb18030"))
    assert read_statement(path) == read_statement(MT940)


@pytest.mark.parametrize(
    ("sample", "name", "found"),
    [
        (CAMT, "statement.txt", "camt.053"),
        (MT940, "statement.xml", "MT940"),
        (MT940, "statement.csv", "MT940"),
    ],
)
def test_the_content_says_what_a_statement_is(
    tmp_path: Path, sample: Path, name: str, found: str
) -> None:
    path = tmp_path / name
    shutil.copy(sample, path)
    assert statement_format(path) == found
    assert len(read_statement(path)) == 6


def refused(tmp_path: Path, name: str, content: str | bytes) -> BankFileError:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    with pytest.raises(BankFileError) as caught:
        read_statement(path)
    return caught.value


CAMT_TEXT = CAMT.read_text(encoding="utf-8")
MT940_TEXT = MT940.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("content", "row", "column", "says"),
    [
        (CAMT_TEXT[:3000], None, None, "is not XML"),
        (
            CAMT_TEXT.replace("camt.053.001.08", "camt.053.001.03"),
            5,
            "/Document",
            "is not a camt.053 bank-to-customer statement",
        ),
        (
            CAMT_TEXT.replace("<CdtDbtInd>DBIT</CdtDbtInd>", "<CdtDbtInd>DEBIT</CdtDbtInd>", 1),
            33,
            "/Document/BkToCstmrStmt/Stmt[1]/Ntry[1]/CdtDbtInd",
            "does not follow the schema",
        ),
        (
            CAMT_TEXT.replace('<Amt Ccy="CNY">1000.00</Amt>', '<Amt Ccy="USD">1000.00</Amt>', 1),
            32,
            "/Document/BkToCstmrStmt/Stmt[1]/Ntry[1]/Amt",
            "is in USD",
        ),
        (
            CAMT_TEXT.replace('<Amt Ccy="CNY">1000.00</Amt>', '<Amt Ccy="CNY">1000.005</Amt>', 1),
            32,
            "/Document/BkToCstmrStmt/Stmt[1]/Ntry[1]/Amt",
            "at most 2 decimals",
        ),
    ],
)
def test_a_bad_camt053_is_refused_naming_the_element(
    tmp_path: Path, content: str, row: int | None, column: str | None, says: str
) -> None:
    error = refused(tmp_path, "statement.xml", content)
    problem = error.problems[0]
    assert problem.column == column
    if row is not None:  # a file cut short: wherever the parser gave up
        assert problem.row == row
    assert says in problem.message


@pytest.mark.parametrize(
    ("content", "row", "says"),
    [
        (
            MT940_TEXT.replace(":61:2612041204D1000,00NTRF", ":61:26120X1204D1000,00NTRF", 1),
            5,
            "is not a statement line",
        ),
        (MT940_TEXT.replace(":60F:C261207CNY", ":60F:C261207USD"), 20, "is in USD"),
        (":25:1202020209000012345\n" + MT940_TEXT, 1, "comes before any :20:"),
        (
            MT940_TEXT.replace("NONREF//ICBC20261204000002", "NONREF", 1),
            7,
            "needs the bank's reference",
        ),
        (
            MT940_TEXT.replace("//ICBC20261204000002", "//ICBC20261204000001", 1),
            7,
            "appears again as a payment: first on line 5",
        ),
    ],
)
def test_a_malformed_mt940_is_refused_naming_the_line(
    tmp_path: Path, content: str, row: int, says: str
) -> None:
    error = refused(tmp_path, "statement.sta", content)
    (problem,) = error.problems
    assert problem.row == row
    assert says in problem.message
    assert f"row {row}" in str(error)


def test_a_file_that_is_no_statement_at_all(tmp_path: Path) -> None:
    error = refused(tmp_path, "statement.pdf", b"%PDF-1.7 not a statement")
    assert "is neither camt.053, MT940, CSV nor XLSX" in str(error)


def test_charges_included_in_an_entry_leave_the_payment_its_own_amount(tmp_path: Path) -> None:
    path = tmp_path / "statement.xml"
    path.write_text(
        CAMT_TEXT.replace("<ChrgInclInd>false</ChrgInclInd>", "<ChrgInclInd>true</ChrgInclInd>"),
        encoding="utf-8",
    )
    lines = {x.bank_reference: x.amount for x in read_statement(path)}
    assert lines["ICBC20261204000003"] == Decimal("999.00")
    assert lines["ICBC20261204000003/CHRG1"] == Decimal("1.00")


BATCH_BOOKED = """        <NtryDtls>
          <TxDtls>
            <Refs><AcctSvcrRef>ICBC-B-1</AcctSvcrRef><EndToEndId>QQ-P0000000001</EndToEndId></Refs>
            <Amt Ccy="CNY">400.00</Amt>
          </TxDtls>
          <TxDtls>
            <Refs><EndToEndId>QQ-P0000000004</EndToEndId></Refs>
            <AmtDtls><TxAmt><Amt Ccy="CNY">600.00</Amt></TxAmt></AmtDtls>
          </TxDtls>
        </NtryDtls>"""


def test_an_entry_booking_several_transactions_gives_a_line_each(tmp_path: Path) -> None:
    first_details = CAMT_TEXT.index("        <NtryDtls>")
    end = CAMT_TEXT.index("</NtryDtls>", first_details) + len("</NtryDtls>")
    path = tmp_path / "statement.xml"
    path.write_text(CAMT_TEXT[:first_details] + BATCH_BOOKED + CAMT_TEXT[end:], encoding="utf-8")
    lines = read_statement(path)
    assert [(x.bank_reference, x.idempotency_key, x.amount) for x in lines[:2]] == [
        ("ICBC-B-1", "QQ-P0000000001", Decimal("400.00")),
        ("ICBC20261204000001/2", "QQ-P0000000004", Decimal("600.00")),
    ]
    without = BATCH_BOOKED.replace('<Amt Ccy="CNY">400.00</Amt>', "")
    path.write_text(CAMT_TEXT[:first_details] + without + CAMT_TEXT[end:], encoding="utf-8")
    with pytest.raises(
        BankFileError, match="an entry of several transactions needs each one's Amt"
    ):
        read_statement(path)


def test_an_mt940_in_its_swift_blocks(tmp_path: Path) -> None:
    first = MT940_TEXT.split("-\n")[0]
    path = tmp_path / "statement.sta"
    path.write_text(
        "{1:F01ICBKCNBJAXXX0000000000}{2:O9401200261204ICBKCNBJAXXX00000000002612041200N}{4:\n"
        + first
        + "-}\n",
        encoding="utf-8",
    )
    assert read_statement(path) == [
        replace(x, row=(x.row or 0) + 1) for x in read_statement(MT940)[:5]
    ]


def test_a_doctype_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    bomb = '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY a "aaaaaaaa">]>\n' + CAMT_TEXT.split(
        "?>", 1
    )[1].replace("<Id>STMT-20261204</Id>", "<Id>&a;</Id>")
    error = refused(tmp_path, "statement.xml", bomb)
    assert "has a DOCTYPE" in str(error)


def test_a_bank_file_over_the_limit_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QINQING_BANK_FILE_MAX_BYTES", "500")
    get_settings.cache_clear()
    try:
        for sample in (CAMT, MT940):
            with pytest.raises(BankFileError, match="more than QINQING_BANK_FILE_MAX_BYTES"):
                read_statement(sample)
    finally:
        get_settings.cache_clear()


INCLUDED = "<ChrgInclInd>false</ChrgInclInd>"


def test_a_camt053_001_02_reads_as_the_001_08(tmp_path: Path) -> None:
    older = CAMT_TEXT.replace("camt.053.001.08", "camt.053.001.02")
    older = older.replace("<Sts><Cd>BOOK</Cd></Sts>", "<Sts>BOOK</Sts>")
    older = re.sub(  # .02 has no charges records: each Chrgs is one
        r"<Chrgs>\s*<Rcrd>(.*?)</Rcrd>\s*</Chrgs>",
        lambda found: (
            f"<Chrgs>{found.group(1).replace('<ChrgInclInd>false</ChrgInclInd>', '')}</Chrgs>"
        ),
        older,
        flags=re.DOTALL,
    )
    path = tmp_path / "statement.xml"
    path.write_text(older, encoding="utf-8")
    assert read_statement(path) == read_statement(CAMT)  # rows aside (compare=False)
