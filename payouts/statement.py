"""The bank statement file: the bank's own account of the money that moved, for reconciliation.

One row per movement on the paying account, in this column order:

    value_date      the booking day, YYYY-MM-DD
    bank_reference  the bank's reference of the payment (a return repeats its payment's)
    idempotency_key our key for the item, as echoed by the bank; may be empty
    kind            payment (money left) or return (money came back)
    amount          yuan, positive, a decimal point and at most 2 decimals (1234.50), no grouping
    reason          why a payment came back; may be empty

CSV (UTF-8, written without a BOM, a BOM accepted; RFC 4180 quoting) or XLSX (first sheet, every
cell written as text; date and number cells are accepted on reading), chosen by the suffix.
Further columns are ignored. `read_statement` checks every cell first and refuses the file whole,
with every problem located by file, row (header = row 1), column and value.

A bank's own statement formats are read too, told apart by their content, whatever the file's
name: ISO 20022 camt.053 (XML; `payouts.gateways._camt053`) and SWIFT MT940
(`payouts.gateways._mt940`). They come to the same lines; bank charges are lines with no key,
which reconciliation reports as unmatched and never matches to an item. Their problems are
located by line (the row) and element or tag (the column).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from payouts.gateways import _camt053, _mt940, _xml
from payouts.gateways._sheets import format_of, format_yuan, parse_yuan, read_table, write_table
from payouts.gateways._types import BANK_REFERENCE_LENGTH, LINE_KINDS, LineKind, StatementLine
from payouts.gateways.errors import BankFileError
from subsidy.registry.errors import Problem

__all__ = ["STATEMENT_COLUMNS", "StatementLine", "read_statement", "write_statement"]

STATEMENT_COLUMNS = (
    "value_date",
    "bank_reference",
    "idempotency_key",
    "kind",
    "amount",
    "reason",
)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_REQUIRED = ("value_date", "bank_reference", "kind", "amount")


def write_statement(path: Path, lines: Iterable[StatementLine]) -> None:
    """The lines as a statement file, CSV or XLSX by the suffix of `path`."""
    rows = (
        [
            line.value_date.isoformat(),
            line.bank_reference,
            line.idempotency_key or "",
            line.kind,
            format_yuan(line.amount),
            line.reason or "",
        ]
        for line in lines
    )
    write_table(path, format_of(path), STATEMENT_COLUMNS, rows)


STATEMENT_FORMATS = ("camt.053", "MT940", "CSV", "XLSX")


def statement_format(path: Path) -> str:
    """Which of `STATEMENT_FORMATS` the file is, by its content (CSV and XLSX by the suffix)."""
    with path.open("rb") as file:
        head = file.read(4096)
    if _xml.is_xml(head):
        return "camt.053"
    if _mt940.is_mt940(head):
        return "MT940"
    if head.startswith(b"PK") or path.suffix.lower() == ".xlsx":
        return "XLSX"
    return "CSV"


def read_statement(path: Path) -> list[StatementLine]:
    """Every line of the statement, or BankFileError listing every problem in it."""
    chosen = statement_format(path)
    if chosen == "camt.053":
        return _camt053.read(path)
    if chosen == "MT940":
        return _mt940.read(path)
    if path.suffix.lower() not in (".csv", ".xlsx"):
        message = f"is neither {', '.join(STATEMENT_FORMATS[:-1])} nor {STATEMENT_FORMATS[-1]}"
        raise BankFileError(path.name, [Problem(path.name, None, None, None, message)])
    table = read_table(path, _REQUIRED, source=path.name)
    problems, lines = table.problems, []
    first_row: dict[tuple[str, str], int] = {}
    for row, cells in table.records:
        found = [Problem(path.name, row, c, v, m) for c, v, m in _cell_problems(cells)]
        reference, kind = cells["bank_reference"].strip(), cells["kind"].strip()
        if not found and (reference, kind) in first_row:
            message = f"appears again as a {kind}: first on row {first_row[reference, kind]}"
            found.append(Problem(path.name, row, "bank_reference", reference, message))
        problems += found
        if found:
            continue
        first_row[reference, kind] = row
        amount, _ = parse_yuan(cells["amount"])
        assert amount is not None  # checked above
        lines.append(
            StatementLine(
                value_date=date.fromisoformat(cells["value_date"].strip()),
                bank_reference=reference,
                idempotency_key=cells.get("idempotency_key", "").strip() or None,
                kind=_kind(kind),
                amount=amount,
                reason=cells.get("reason", "").strip() or None,
                row=row,
            )
        )
    if problems:
        raise BankFileError(path.name, problems)
    return lines


def _cell_problems(cells: dict[str, str]) -> list[tuple[str, str, str]]:
    """(column, value, message) for each bad cell of one row, in column order."""
    found: list[tuple[str, str, str]] = []
    day = cells["value_date"].strip()
    if not day:
        found.append(("value_date", day, "is required"))
    elif not _is_date(day):
        found.append(("value_date", cells["value_date"], "is not a date (YYYY-MM-DD)"))
    reference = cells["bank_reference"].strip()
    if not reference:
        found.append(("bank_reference", cells["bank_reference"], "is required"))
    elif len(reference) > BANK_REFERENCE_LENGTH:
        found.append(
            ("bank_reference", reference, f"is longer than {BANK_REFERENCE_LENGTH} characters")
        )
    if cells["kind"].strip() not in LINE_KINDS:
        found.append(("kind", cells["kind"], "must be payment or return"))
    _, why = parse_yuan(cells["amount"])
    if why is not None:
        found.append(("amount", cells["amount"], why))
    return found


def _is_date(text: str) -> bool:
    # fromisoformat alone would also take 20200131 and 2020-W05-5, which no bank means
    if not _DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _kind(text: str) -> LineKind:
    return "payment" if text == "payment" else "return"
