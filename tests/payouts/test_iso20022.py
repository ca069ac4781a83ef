"""The file bank in ISO 20022: a batch leaves as one pain.001.001.09 the official schema accepts,
exact to the fen, or not at all; pain.002 status reports come back as item results, or are
refused whole naming the element."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from payouts.gateways import (
    BankFileError,
    FileBank,
    InstructionConflict,
    InstructionUnfit,
    ItemResult,
    ItemStatus,
    _pain001,
    gateway_from_url,
)
from payouts.gateways.files import read_instruction_file
from subsidy.errors import ConfigurationError
from subsidy.settings import get_settings
from tests.payouts.factories import instruction
from tests.payouts.iso_samples import (
    DEBTOR,
    DEBTOR_ENVIRONMENT,
    PAIN001_NS,
    SAMPLE_BATCH,
    SAMPLE_KEYS,
    SAMPLES,
    official_pain001_schema,
    sample_batch,
)

NS = {"p": PAIN001_NS}
K1, K2, K3 = SAMPLE_KEYS


def iso_bank(tmp_path: Path) -> FileBank:
    return FileBank(tmp_path, "iso20022", DEBTOR)


def answered(tmp_path: Path, *samples: str) -> list[ItemResult]:
    """The sample batch sent, the bank's reports put in the inbox in this order, then asked."""
    bank = iso_bank(tmp_path)
    bank.submit(sample_batch())
    for n, sample in enumerate(samples):
        shutil.copy(SAMPLES / sample, tmp_path / "inbox" / f"{n}-{sample}")
    return bank.query(SAMPLE_KEYS)


def test_a_batch_leaves_as_one_pain001_the_official_schema_accepts(tmp_path: Path) -> None:
    batch = sample_batch()
    batch[0] = instruction(
        1, idempotency_key=K1, batch_ref=SAMPLE_BATCH, payee_name="杭州, <&> 公司"
    )
    batch[2] = instruction(3, idempotency_key=K3, batch_ref=SAMPLE_BATCH, bank_code="ZJRCU")
    results = iso_bank(tmp_path).submit(batch)
    assert results == [ItemResult(i.idempotency_key, ItemStatus.PENDING) for i in batch]
    written = tmp_path / "outbox" / f"{SAMPLE_BATCH}.xml"
    assert sorted(p.name for p in (tmp_path / "outbox").iterdir()) == [written.name]
    document = etree.parse(str(written))
    official_pain001_schema().assertValid(document)
    header = document.find("p:CstmrCdtTrfInitn/p:GrpHdr", NS)
    assert header is not None
    assert header.findtext("p:MsgId", namespaces=NS) == SAMPLE_BATCH
    assert header.findtext("p:NbOfTxs", namespaces=NS) == "3"
    assert Decimal(header.findtext("p:CtrlSum", namespaces=NS) or "") == sum(
        i.amount for i in batch
    )
    payment = document.find("p:CstmrCdtTrfInitn/p:PmtInf", NS)
    assert payment is not None
    assert payment.findtext("p:DbtrAcct/p:Id/p:Othr/p:Id", namespaces=NS) == DEBTOR.account
    assert payment.findtext("p:Dbtr/p:Nm", namespaces=NS) == DEBTOR.name
    assert payment.findtext("p:DbtrAgt/p:FinInstnId/p:ClrSysMmbId/p:MmbId", namespaces=NS) == (
        DEBTOR.cnaps
    )
    transfers = payment.findall("p:CdtTrfTxInf", NS)
    assert [t.findtext("p:PmtId/p:EndToEndId", namespaces=NS) for t in transfers] == SAMPLE_KEYS
    amounts = [t.find("p:Amt/p:InstdAmt", NS) for t in transfers]
    assert [(a.get("Ccy"), a.text) for a in amounts if a is not None] == [
        ("CNY", f"{i.amount:.2f}") for i in batch
    ]
    agents = [t.find("p:CdtrAgt/p:FinInstnId/p:ClrSysMmbId", NS) for t in transfers]
    assert [
        (a.findtext("p:ClrSysId/p:Cd", namespaces=NS), a.findtext("p:MmbId", namespaces=NS))
        for a in agents
        if a is not None
    ] == [("CNAPS", "102100099996"), ("CNAPS", "102100099996"), ("CNAPS", "402331000007")]
    assert [t.findtext("p:Cdtr/p:Nm", namespaces=NS) for t in transfers] == [
        i.payee_name for i in batch
    ]
    assert [t.findtext("p:CdtrAcct/p:Id/p:Othr/p:Id", namespaces=NS) for t in transfers] == [
        i.account for i in batch
    ]
    assert [t.findtext("p:RmtInf/p:Ustrd", namespaces=NS) for t in transfers] == [
        i.memo for i in batch
    ]
    assert read_instruction_file(written) == batch


def test_the_same_batch_again_writes_nothing_and_another_is_refused(tmp_path: Path) -> None:
    bank = iso_bank(tmp_path)
    bank.submit(sample_batch())
    written = tmp_path / "outbox" / f"{SAMPLE_BATCH}.xml"
    before = written.read_bytes()
    assert bank.submit(sample_batch())[0].status == ItemStatus.PENDING
    assert written.read_bytes() == before
    changed = instruction(1, idempotency_key=K1, batch_ref=SAMPLE_BATCH, amount=Decimal("1.00"))
    with pytest.raises(InstructionConflict):
        iso_bank(tmp_path).submit([changed])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"payee_name": "长" * 141}, "payee_name"),
        ({"payee_name": "  "}, "payee_name"),
        ({"memo": "m" * 141}, "memo"),
        ({"memo": ""}, "memo"),
        ({"bank_code": "OTHER"}, "bank_code"),
        ({"account": "6222-0202"}, "account"),
        ({"idempotency_key": "K" * 36}, "idempotency_key"),
    ],
)
def test_a_payment_the_schema_cannot_carry_is_rejected_by_its_key(
    tmp_path: Path, change: dict[str, str], field: str
) -> None:
    batch = sample_batch()
    batch[1] = instruction(2, **{"idempotency_key": K2, "batch_ref": SAMPLE_BATCH} | change)
    unfit = batch[1].idempotency_key
    results = iso_bank(tmp_path).submit(batch)
    pending, rejected = ItemStatus.PENDING, ItemStatus.REJECTED
    assert [r.status for r in results] == [pending, rejected, pending]
    assert (results[1].idempotency_key, results[1].reason_code) == (unfit, "QQ-UNFIT")
    assert f"payment {unfit} cannot go into the bank file: {field}" in (results[1].reason or "")
    written = read_instruction_file(tmp_path / "outbox" / f"{SAMPLE_BATCH}.xml")
    assert [i.idempotency_key for i in written] == [K1, K3]  # the others leave
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == [f"{SAMPLE_BATCH}.xml"]
    assert iso_bank(tmp_path).query([unfit]) == [ItemResult(unfit, ItemStatus.NOT_FOUND)]


def test_a_batch_of_nothing_the_schema_can_carry_writes_nothing(tmp_path: Path) -> None:
    batch = [instruction(n, batch_ref=SAMPLE_BATCH, payee_name="") for n in range(2)]
    results = iso_bank(tmp_path).submit(batch)
    assert {r.status for r in results} == {ItemStatus.REJECTED}
    assert list((tmp_path / "outbox").iterdir()) == []


def test_a_document_the_schema_refuses_is_never_written(tmp_path: Path) -> None:
    long_ref = "B" * 36  # a file name, but no MsgId
    with pytest.raises(InstructionUnfit) as refused:
        iso_bank(tmp_path).submit([instruction(1, batch_ref=long_ref)])
    assert refused.value.field == "batch_ref"
    assert "付款" in refused.value.message_in("zh")
    assert list((tmp_path / "outbox").iterdir()) == []  # nothing written, no temporary file


amounts = st.lists(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999999999.99"), places=2),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(amounts)
def test_amounts_read_back_exactly_and_the_control_sum_is_their_sum(values: list[Decimal]) -> None:
    batch = [
        instruction(n, idempotency_key=f"QQ-P{n:010d}", amount=amount)
        for n, amount in enumerate(values)
    ]
    now = dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)
    data = _pain001.build("B-PROP", batch, DEBTOR, created_at=now, execution_date=now.date())
    root = etree.fromstring(data)
    written = [Decimal(e.text or "") for e in root.iterfind(".//p:InstdAmt", NS)]
    assert written == values
    assert all(e.get("Ccy") == "CNY" for e in root.iterfind(".//p:InstdAmt", NS))
    for total in root.iterfind(".//p:CtrlSum", NS):
        assert Decimal(total.text or "") == sum(values)


# --- pain.002 back ---------------------------------------------------------------------------


def test_an_accepted_report_pays_every_item_with_the_banks_reference(tmp_path: Path) -> None:
    assert answered(tmp_path, "pain002-accepted.xml") == [
        ItemResult(key, ItemStatus.PAID, f"ICBC2026120400000{n}")
        for n, key in enumerate(SAMPLE_KEYS, start=1)
    ]


def test_a_rejected_report_gives_each_reason(tmp_path: Path) -> None:
    assert answered(tmp_path, "pain002-rejected.xml") == [
        ItemResult(K1, ItemStatus.REJECTED, None, "AC04", "账户已销户"),
        ItemResult(K2, ItemStatus.REJECTED, None, "BE01", "户名与账号不符"),
        ItemResult(K3, ItemStatus.REJECTED, None, "CN-R01", None),
    ]


def test_a_mixed_report_pays_rejects_and_leaves_pending(tmp_path: Path) -> None:
    assert answered(tmp_path, "pain002-mixed.xml") == [
        ItemResult(K1, ItemStatus.PAID, "ICBC20261204000001"),
        ItemResult(K2, ItemStatus.REJECTED, None, "AC01", "Incorrect account number"),
        ItemResult(K3, ItemStatus.PENDING),
    ]


def test_a_group_rejected_as_a_whole_rejects_every_item(tmp_path: Path) -> None:
    assert answered(tmp_path, "pain002-group-rejected.xml") == [
        ItemResult(key, ItemStatus.REJECTED, None, "AM05", "重复文件") for key in SAMPLE_KEYS
    ]


def test_pending_then_settled_and_a_later_pending_changes_nothing(tmp_path: Path) -> None:
    bank = iso_bank(tmp_path)
    bank.submit(sample_batch())
    mixed = (SAMPLES / "pain002-mixed.xml").read_text(encoding="utf-8")
    settled = mixed.replace(
        "<TxSts>ACSP</TxSts>", "<TxSts>ACSC</TxSts><AcctSvcrRef>R3</AcctSvcrRef>"
    )
    (tmp_path / "inbox" / "1.xml").write_text(mixed, encoding="utf-8")
    (tmp_path / "inbox" / "2.xml").write_text(settled, encoding="utf-8")
    (tmp_path / "inbox" / "3.xml").write_text(mixed, encoding="utf-8")
    assert bank.query([K3]) == [ItemResult(K3, ItemStatus.PAID, "R3")]


def test_a_statements_return_in_the_inbox_returns_the_item(tmp_path: Path) -> None:
    results = answered(tmp_path, "pain002-accepted.xml", "camt053-two-statements.xml")
    assert results[1] == ItemResult(
        K2, ItemStatus.RETURNED, "ICBC20261207R00001", "AC04", "reversal: AC04 账户已销户"
    )
    assert [r.status for r in results] == [ItemStatus.PAID, ItemStatus.RETURNED, ItemStatus.PAID]


def refused(tmp_path: Path, text: str | bytes) -> BankFileError:
    bank = iso_bank(tmp_path)
    bank.submit(sample_batch())
    target = tmp_path / "inbox" / "report.xml"
    if isinstance(text, str):
        target.write_text(text, encoding="utf-8")
    else:
        target.write_bytes(text)
    with pytest.raises(BankFileError) as caught:
        bank.query(SAMPLE_KEYS)
    with pytest.raises(BankFileError):  # and nothing is answered until it is removed
        bank.submit(sample_batch())
    target.unlink()
    assert [r.status for r in bank.query(SAMPLE_KEYS)] == [ItemStatus.PENDING] * 3
    return caught.value


ACCEPTED = (SAMPLES / "pain002-accepted.xml").read_text(encoding="utf-8")


def test_an_unknown_key_is_refused_naming_its_element(tmp_path: Path) -> None:
    error = refused(tmp_path, ACCEPTED.replace(K3, "QQ-P0000000009"))
    (problem,) = error.problems
    assert (
        problem.column
        == "/Document/CstmrPmtStsRpt/OrgnlPmtInfAndSts/TxInfAndSts[3]/OrgnlEndToEndId"
    )
    assert problem.value == "QQ-P0000000009"
    assert problem.row == 30  # the line of that element in the file
    assert "no payment of batch B-SAMPLE-1" in str(error)


def test_a_report_on_a_batch_never_sent_is_refused(tmp_path: Path) -> None:
    (problem,) = refused(
        tmp_path, ACCEPTED.replace(f"<OrgnlMsgId>{SAMPLE_BATCH}", "<OrgnlMsgId>B-ELSEWHERE")
    ).problems
    assert problem.column == "/Document/CstmrPmtStsRpt/OrgnlGrpInfAndSts/OrgnlMsgId"
    assert "names no payment file" in problem.message


@pytest.mark.parametrize(
    ("text", "column", "says"),
    [
        (b"\x89PNG not xml", None, "is not XML"),
        (ACCEPTED[:400], None, "is not XML"),
        (
            ACCEPTED.replace("pain.002.001.03", "pain.002.001.10"),
            "/Document",
            "is not a pain.002 payment status report",
        ),
        (
            (SAMPLES / "camt053-two-statements.xml")
            .read_text(encoding="utf-8")
            .replace("camt.053.001.08", "camt.052.001.08"),
            "/Document",
            "is not a pain.002",
        ),
        (
            ACCEPTED.replace("<TxSts>ACSC</TxSts>", "<TxSts>PAID</TxSts>", 1),
            "/Document/CstmrPmtStsRpt/OrgnlPmtInfAndSts/TxInfAndSts[1]/TxSts",
            "does not follow the schema",
        ),
        (
            ACCEPTED.replace("<OrgnlMsgNmId>pain.001.001.09", "<OrgnlMsgNmId>pacs.008.001.08"),
            "/Document/CstmrPmtStsRpt/OrgnlGrpInfAndSts/OrgnlMsgNmId",
            "is not a pain.001 message",
        ),
        (
            ACCEPTED.replace("<AcctSvcrRef>ICBC20261204000002</AcctSvcrRef>", ""),
            "/Document/CstmrPmtStsRpt/OrgnlPmtInfAndSts/TxInfAndSts[2]/TxSts",
            "needs AcctSvcrRef",
        ),
    ],
)
def test_a_bad_report_is_refused_whole(
    tmp_path: Path, text: str | bytes, column: str | None, says: str
) -> None:
    error = refused(tmp_path, text)
    assert [p.column for p in error.problems][:1] == [column]
    assert says in str(error)


def test_an_iso_file_bank_from_its_url_reads_the_debtor_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in DEBTOR_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        bank = gateway_from_url(f"files://{tmp_path}/x?format=iso20022")
        assert isinstance(bank, FileBank)
        assert (bank.format, bank.debtor) == ("iso20022", DEBTOR)
        monkeypatch.delenv("QINQING_BANK_DEBTOR_CNAPS")
        get_settings.cache_clear()
        with pytest.raises(ConfigurationError, match="QINQING_BANK_DEBTOR_CNAPS"):
            gateway_from_url(f"files://{tmp_path}/x?format=iso20022")
        monkeypatch.setenv("QINQING_BANK_DEBTOR_CNAPS", "1023")
        get_settings.cache_clear()
        with pytest.raises(ConfigurationError, match="QINQING_BANK_DEBTOR_CNAPS"):
            get_settings()
    finally:
        get_settings.cache_clear()
