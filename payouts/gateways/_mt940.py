"""MT940 (SWIFT customer statement) into the statement lines reconciliation reads.

Read with the `mt-940` library (every opt-in fix on: reversal signs, unbounded :86:, BOM), one
statement per `:20:` (a file may carry several). The file is UTF-8, or GB18030 (which contains
GBK and GB2312), as Chinese banks write it. Each `:61:` statement line:

    D, RC       money left (a debit, or the reversal of a credit): a `payment`
    C, RD       money came back (a credit, or the reversal of our debit, RD): a `return`;
                RD/RC are marked "reversal" in the line's reason
    amount      CNY only (the statement's :60F:/:60M: currency)
    //ref       the bank reference (the customer reference field when there is none and it is
                not our key)
    our key     `QQ-P` and ten digits (`payouts.models.ITEM_KEY`), in the customer reference
                or anywhere in the :86: text (Chinese banks write it in free text,
                `代发补贴 QQ-P0000000001`, `摘要:...`, or in a structured `/EREF/` sub-field);
                spaces and line breaks ignored
    NCHG, FCHG, SCHG, or a :86: with 手续费 / charges and no key
                bank charges: a line reconciliation reports and never matches to an item

A `:61:` line the SWIFT layout does not describe, a line before any `:20:`, a currency other
than CNY or a line without a bank reference refuses the file, naming the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import mt940
from mt940.tags import Statement as Tag61

from payouts.gateways import _xml
from payouts.gateways._types import BANK_REFERENCE_LENGTH, MAX_YUAN, LineKind, StatementLine
from payouts.gateways.errors import BankFileError
from payouts.models import ITEM_KEY
from subsidy.money import FEN
from subsidy.registry.errors import Problem

CURRENCY = "CNY"
CHARGES = "bank charges"
CHARGE_CODES = ("NCHG", "FCHG", "SCHG")
_CHARGE_WORDS = re.compile(r"手续费|charges?\b|CHRG", re.IGNORECASE)
_TAG = re.compile(r"^:([0-9]{2}[A-Z]?):(.*)$")
_BALANCE = re.compile(r"^[CD][0-9]{6}([A-Z]{3})")
_STATEMENT_LINE = Tag61().re


@dataclass
class _Found:
    """The :61: lines of one statement as the file has them, with their line numbers."""

    lines: list[tuple[int, str]] = field(default_factory=list)
    currency: str | None = None


def is_mt940(data: bytes) -> bool:
    """Whether a file's content is an MT940 statement (a :20: tag first, or a SWIFT block 1)."""
    text = _decode(data[:4096])
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith((":20:", "{1:")):
        return True
    return re.search(r"^:20:", head, re.M) is not None and ":61:" in text


def read(path: Path) -> list[StatementLine]:
    text = _decode(_xml.read_bounded(path)).removeprefix("\ufeff").replace("\r\n", "\n")
    problems: list[Problem] = []
    found = _scan(path.name, text, problems)
    if problems:
        raise BankFileError(path.name, problems)
    statements = mt940.parse_statements(text, options=mt940.Options.all())
    with_lines = [s for s in statements if s.transactions or s.data.get("transaction_reference")]
    lines: list[StatementLine] = []
    first: dict[tuple[str, str], int] = {}
    for statement, scanned in zip(with_lines, found, strict=False):
        if len(statement.transactions) != len(scanned.lines):
            problems.append(
                Problem(
                    path.name,
                    scanned.lines[0][0] if scanned.lines else None,
                    ":61:",
                    None,
                    "the statement's :61: lines could not all be read",
                )
            )
            continue
        for transaction, (number, raw) in zip(statement.transactions, scanned.lines, strict=True):
            line = _line(path.name, number, raw, transaction.data, problems)
            if line is None:
                continue
            at = first.setdefault((line.bank_reference, line.kind), number)
            if at != number:
                message = f"appears again as a {line.kind}: first on line {at}"
                problems.append(Problem(path.name, number, ":61:", line.bank_reference, message))
                continue
            lines.append(line)
    if len(with_lines) != len(found):
        problems.append(Problem(path.name, None, ":20:", None, "a statement could not be read"))
    if problems:
        raise BankFileError(path.name, problems)
    return lines


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def _scan(source: str, text: str, problems: list[Problem]) -> list[_Found]:
    """Each statement's :61: lines and currency, every malformed line named."""
    statements: list[_Found] = []
    current: _Found | None = None
    pending: tuple[int, str] | None = None  # a :61: whose supplementary line may follow
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip()
        tag = _TAG.match(line)
        if tag is None:
            if pending is not None and line and not line.startswith(("-", "{", "}")):
                pending = (pending[0], pending[1] + "\n" + line)
            continue
        if pending is not None and current is not None:
            current.lines.append(pending)
            pending = None
        name, value = tag.groups()
        if name == "20":
            current = _Found()
            statements.append(current)
            continue
        if current is None:
            problems.append(Problem(source, number, f":{name}:", value, "comes before any :20:"))
            continue
        if name in ("60F", "60M"):
            currency = _BALANCE.match(value)
            if currency is None:
                problems.append(Problem(source, number, f":{name}:", value, "is not a balance"))
            elif currency.group(1) != CURRENCY:
                message = f"is in {currency.group(1)}; Qinqing pays in {CURRENCY} only"
                problems.append(Problem(source, number, f":{name}:", value, message))
            current.currency = currency.group(1) if currency else None
        elif name == "61":
            if _STATEMENT_LINE.match(value) is None:
                message = (
                    "is not a statement line: YYMMDD[MMDD] C|D|RC|RD amount type ref//bank ref"
                )
                problems.append(Problem(source, number, ":61:", value, message))
            pending = (number, value)
    if pending is not None and current is not None:
        current.lines.append(pending)
    if not statements:
        problems.append(
            Problem(source, None, ":20:", None, "no statement: an MT940 file starts each with :20:")
        )
    return statements


def _line(
    source: str, number: int, raw: str, data: dict[str, Any], problems: list[Problem]
) -> StatementLine | None:
    def problem(value: str | None, message: str) -> None:
        problems.append(Problem(source, number, ":61:", value, message))

    mark = str(data.get("status", "")).upper()
    amount = abs(Decimal(data["amount"].amount))
    if amount != amount.quantize(FEN) or amount <= 0 or amount > MAX_YUAN:
        problem(raw, f"amount must be between 0.01 and {MAX_YUAN} with at most 2 decimals")
        return None
    kind: LineKind = "payment" if mark in ("D", "RC") else "return"
    details = str(data.get("transaction_details") or "")
    customer = str(data.get("customer_reference") or "").strip()
    bank_reference = str(data.get("bank_reference") or "").strip()
    key = _key(customer) or _key(details)
    if not bank_reference:
        bank_reference = "" if _key(customer) or customer in ("", "NONREF") else customer
    if not bank_reference:
        problem(raw, "needs the bank's reference (//...)")
        return None
    if len(bank_reference) > BANK_REFERENCE_LENGTH:
        problem(bank_reference, f"the bank reference is longer than {BANK_REFERENCE_LENGTH}")
        return None
    code = str(data.get("id") or "").upper()
    charges = code in CHARGE_CODES or (key is None and _CHARGE_WORDS.search(details) is not None)
    reason = CHARGES if charges else (" ".join(details.split())[:200] or None)
    if mark in ("RC", "RD"):
        reason = f"reversal: {reason}" if reason else "reversal"
    return StatementLine(
        value_date=date(data["date"].year, data["date"].month, data["date"].day),
        bank_reference=bank_reference,
        idempotency_key=None if charges else key,
        kind=kind,
        amount=amount.quantize(FEN),
        reason=reason if kind == "return" or charges else None,
        row=number,
    )


def _key(text: str) -> str | None:
    found = ITEM_KEY.search(re.sub(r"\s", "", text))
    return found.group(0) if found else None
