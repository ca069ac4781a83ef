"""pain.001.001.09 (customer credit transfer initiation): one file per payout batch.

    GrpHdr     MsgId = the batch reference, CreDtTm, NbOfTxs, CtrlSum (exact yuan), InitgPty
    PmtInf     PmtInfId = the batch reference, TRF, ReqdExctnDt, the paying department (Debtor:
               its name, account and bank from the settings)
    CdtTrfTxInf, one per payment:
               PmtId/EndToEndId = the item's idempotency key, Amt/InstdAmt Ccy="CNY" to the fen,
               CdtrAgt = the payee's bank by its CNAPS2 participant code (ClrSysMmbId with
               ClrSysId/Cd CNAPS), Cdtr/Nm and Cdtr/Id (the USCC, scheme TXID), CdtrAcct/Id/Othr,
               RmtInf/Ustrd the memo (policy and redemption)

The document is checked against the official XSD before anything is written. A payment whose
name, account or memo the schema cannot carry is `unfit` (an `InstructionUnfit` naming its key
and field): the file bank leaves it out of the file and answers it REJECTED with that reason
(code QQ-UNFIT), so finance sees it while the rest of the batch is paid.
`read_pain001` reads such a file back into the instructions (the outbox is the record of what
was instructed).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from lxml import etree

from payouts.banks import CNAPS_CODE, bank_of_cnaps, cnaps_of
from payouts.gateways import _xml
from payouts.gateways._types import PaymentInstruction
from payouts.gateways.errors import BankFileError, InstructionUnfit
from subsidy.registry.errors import Problem

VERSION = _xml.PAIN001
CURRENCY = "CNY"
CLEARING_SYSTEM = "CNAPS"
USCC_SCHEME = "TXID"  # the external code for a tax identification number: the USCC is one
MAX35 = 35
MAX140 = 140
MAX_ACCOUNT = 34
_ACCOUNT = re.compile(r"[0-9A-Za-z]{1,34}")


@dataclass(frozen=True)
class Debtor:
    """The paying department: its name, account and bank (QINQING_BANK_DEBTOR_*)."""

    name: str
    account: str
    cnaps: str
    bic: str = ""

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > MAX140:
            raise ValueError("the debtor's name must have 1 to 140 characters")
        if not _ACCOUNT.fullmatch(self.account):
            raise ValueError("the debtor's account must be 1 to 34 letters or digits")
        if not CNAPS_CODE.fullmatch(self.cnaps):
            raise ValueError("the debtor's CNAPS code must be 12 digits")


def build(
    batch_ref: str,
    instructions: Sequence[PaymentInstruction],
    debtor: Debtor,
    *,
    created_at: dt.datetime,
    execution_date: dt.date,
) -> bytes:
    """The batch's pain.001 document, valid against the official schema, or InstructionUnfit
    for the first payment the schema cannot carry."""
    for instruction in instructions:
        _check_fits(instruction)
    if len(batch_ref) > MAX35:
        raise InstructionUnfit(
            key=instructions[0].idempotency_key if instructions else "-",
            field="batch_ref",
            why=f"the batch reference {batch_ref} is longer than {MAX35} characters (MsgId)",
        )
    total = sum((i.amount for i in instructions), Decimal("0.00"))
    document = _element("Document")
    initiation = _sub(document, "CstmrCdtTrfInitn")
    header = _sub(initiation, "GrpHdr")
    _sub(header, "MsgId", batch_ref)
    _sub(header, "CreDtTm", created_at.astimezone(dt.UTC).replace(microsecond=0).isoformat())
    _sub(header, "NbOfTxs", str(len(instructions)))
    _sub(header, "CtrlSum", _amount(total))
    _sub(_sub(header, "InitgPty"), "Nm", debtor.name)
    payment = _sub(initiation, "PmtInf")
    _sub(payment, "PmtInfId", batch_ref)
    _sub(payment, "PmtMtd", "TRF")
    _sub(payment, "NbOfTxs", str(len(instructions)))
    _sub(payment, "CtrlSum", _amount(total))
    _sub(_sub(payment, "ReqdExctnDt"), "Dt", execution_date.isoformat())
    _sub(_sub(payment, "Dbtr"), "Nm", debtor.name)
    debtor_account = _sub(payment, "DbtrAcct")
    _sub(_sub(_sub(debtor_account, "Id"), "Othr"), "Id", debtor.account)
    _sub(debtor_account, "Ccy", CURRENCY)
    _agent(_sub(payment, "DbtrAgt"), debtor.cnaps, bic=debtor.bic)
    _sub(payment, "ChrgBr", "DEBT")  # the paying department bears the charges: firms get it all
    for instruction in instructions:
        _transfer(payment, instruction)
    data: bytes = etree.tostring(
        document, xml_declaration=True, encoding="UTF-8", pretty_print=True
    )
    try:
        _xml.validate(data, VERSION, f"{batch_ref}.xml")
    except BankFileError as exc:  # a bug here, not the payee's: say what the schema said
        raise InstructionUnfit(
            key=instructions[0].idempotency_key if instructions else "-",
            field="document",
            why="; ".join(str(p) for p in exc.problems[:3]),
        ) from exc
    return data


UNFIT = "QQ-UNFIT"
"""The reason code of a payment the file bank rejects itself: the schema cannot carry it."""


def unfit(i: PaymentInstruction) -> InstructionUnfit | None:
    """Why pain.001 cannot carry this payment, or None when it can."""
    try:
        _check_fits(i)
    except InstructionUnfit as exc:
        return exc
    return None


def _check_fits(i: PaymentInstruction) -> None:
    def unfit(field: str, why: str) -> InstructionUnfit:
        return InstructionUnfit(key=i.idempotency_key, field=field, why=why)

    if len(i.idempotency_key) > MAX35:
        raise unfit("idempotency_key", f"longer than {MAX35} characters (EndToEndId)")
    name = i.payee_name.strip()
    if not name or len(name) > MAX140:
        raise unfit("payee_name", f"must have 1 to {MAX140} characters (Cdtr/Nm), has {len(name)}")
    if not _ACCOUNT.fullmatch(i.account):
        raise unfit(
            "account", f"must be 1 to {MAX_ACCOUNT} letters or digits (CdtrAcct/Id/Othr/Id)"
        )
    if cnaps_of(i.bank_code) is None:
        raise unfit(
            "bank_code", f"bank {i.bank_code} has no CNAPS2 participant code in payouts/banks.py"
        )
    if not i.payee_uscc or len(i.payee_uscc) > MAX35:
        raise unfit("payee_uscc", f"must have 1 to {MAX35} characters (Cdtr/Id/OrgId/Othr/Id)")
    if not i.memo.strip() or len(i.memo) > MAX140:
        raise unfit("memo", f"must have 1 to {MAX140} characters (RmtInf/Ustrd), has {len(i.memo)}")
    if _has_control(name) or _has_control(i.memo):
        raise unfit("payee_name", "holds a control character XML cannot carry")


def _has_control(text: str) -> bool:
    return any(ord(c) < 0x20 and c not in "\t\n\r" for c in text)


def _transfer(payment: etree._Element, i: PaymentInstruction) -> None:
    transfer = _sub(payment, "CdtTrfTxInf")
    _sub(_sub(transfer, "PmtId"), "EndToEndId", i.idempotency_key)
    amount = _sub(_sub(transfer, "Amt"), "InstdAmt", _amount(i.amount))
    amount.set("Ccy", CURRENCY)
    _agent(_sub(transfer, "CdtrAgt"), cnaps_of(i.bank_code) or "")
    creditor = _sub(transfer, "Cdtr")
    _sub(creditor, "Nm", i.payee_name)
    other = _sub(_sub(_sub(creditor, "Id"), "OrgId"), "Othr")
    _sub(other, "Id", i.payee_uscc)
    _sub(_sub(other, "SchmeNm"), "Cd", USCC_SCHEME)
    _sub(_sub(_sub(_sub(transfer, "CdtrAcct"), "Id"), "Othr"), "Id", i.account)
    _sub(_sub(transfer, "RmtInf"), "Ustrd", i.memo)


def _agent(agent: etree._Element, cnaps: str, *, bic: str = "") -> None:
    institution = _sub(agent, "FinInstnId")
    if bic:
        _sub(institution, "BICFI", bic)
    member = _sub(institution, "ClrSysMmbId")
    _sub(_sub(member, "ClrSysId"), "Cd", CLEARING_SYSTEM)
    _sub(member, "MmbId", cnaps)


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _element(name: str) -> etree._Element:
    return etree.Element(_xml.qualified(VERSION, name), nsmap={None: _xml.NAMESPACE + VERSION})


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, _xml.qualified(VERSION, name))
    if text is not None:
        child.text = text
    return child


def read(path: Path) -> list[PaymentInstruction]:
    """A pain.001 file we wrote, as the instructions it carries (validated first)."""
    message = _xml.read(path, (VERSION,), "a pain.001.001.09 credit transfer initiation")
    initiation = message.find(message.root, "CstmrCdtTrfInitn")
    assert initiation is not None  # the schema requires it
    problems: list[Problem] = []
    instructions = []
    for payment in message.findall(initiation, "PmtInf"):
        batch_ref = message.text(payment, "PmtInfId") or ""
        for transfer in message.findall(payment, "CdtTrfTxInf"):
            member = message.text(transfer, "CdtrAgt/FinInstnId/ClrSysMmbId/MmbId") or ""
            bank = bank_of_cnaps(member)
            if bank is None:
                problems.append(message.problem(transfer, member, "names no bank Qinqing pays to"))
                continue
            instructions.append(
                PaymentInstruction(
                    idempotency_key=message.text(transfer, "PmtId/EndToEndId") or "",
                    batch_ref=batch_ref,
                    payee_uscc=message.text(transfer, "Cdtr/Id/OrgId/Othr/Id") or "",
                    payee_name=message.text(transfer, "Cdtr/Nm", raw=True) or "",
                    bank_code=bank,
                    account=message.text(transfer, "CdtrAcct/Id/Othr/Id") or "",
                    amount=Decimal(message.text(transfer, "Amt/InstdAmt") or "0"),
                    memo=message.text(transfer, "RmtInf/Ustrd", raw=True) or "",
                )
            )
    if problems:
        raise BankFileError(path.name, problems)
    return instructions
