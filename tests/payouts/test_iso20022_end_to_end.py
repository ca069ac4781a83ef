"""A payout batch through ISO 20022 files, end to end through the payout core: it leaves as a
pain.001 the official schema accepts, the bank's pain.002 pays it, a camt.053 in the inbox
returns one payment, and the bank's statement, camt.053 or MT940, reconciles the batch: every
payment and the return matched, only the bank's charges left over (lines with no item)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from payouts import ledger_check, reconcile, tasks
from payouts.banks import bank_of, usable
from payouts.models import ItemState, PayoutItem, ReconciliationException
from subsidy import db, localtime
from subsidy.redemption.models import Redemption, RedemptionStatus
from subsidy.registry.models import Enterprise
from subsidy.settings import get_settings
from tests.payouts.iso_samples import (
    DEBTOR_ENVIRONMENT,
    PAIN001_NS,
    official_pain001_schema,
    sample_for,
)
from tests.redemption.helpers import flat, load_registry, publish, redeem

POLICY = "iso-1000"  # 1,000 yuan a firm: the samples' amounts


@pytest.fixture
def exchange(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app_env: Engine) -> Iterator[Path]:
    folder = tmp_path / "exchange"
    monkeypatch.setenv("QINQING_BANK_URL", f"files://{folder}?format=iso20022")
    for name, value in DEBTOR_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    tasks.gateway.cache_clear()
    yield folder
    tasks.gateway.cache_clear()
    get_settings.cache_clear()


def three_firms_of_one_bank(engine: Engine, data_dir: Path, folder: Path) -> list[str]:
    active = set(load_registry(engine, data_dir, folder, 80))
    with Session(engine) as session:
        rows = session.execute(
            select(col(Enterprise.uscc), col(Enterprise.bank_account)).order_by(
                col(Enterprise.uscc)
            )
        ).all()
    by_bank: dict[str, list[str]] = {}
    for uscc, account in rows:
        if uscc in active and usable(account):
            by_bank.setdefault(bank_of(account), []).append(uscc)
    return next(firms[:3] for firms in by_bank.values() if len(firms) >= 3)


def items(engine: Engine) -> list[PayoutItem]:
    with Session(engine) as session:
        return list(session.execute(select(PayoutItem).order_by(col(PayoutItem.id))).scalars())


@pytest.mark.parametrize("statement", ["camt053-two-statements.xml", "mt940-two-statements.sta"])
def test_a_batch_through_iso20022_files(
    app_env: Engine, data_dir: Path, tmp_path: Path, exchange: Path, statement: str
) -> None:
    engine = app_env
    publish(engine, flat(POLICY, 1000, 10_000_000))
    for n, uscc in enumerate(three_firms_of_one_bank(engine, data_dir, tmp_path / "registry")):
        redeem(engine, uscc, POLICY, f"iso-{n}")

    (batch_id,) = tasks.gather_in_chunks().batch_ids
    sent = tasks.settle_once(batch_id)
    assert sent is not None
    assert sent.paid == 0
    (written,) = (exchange / "outbox").iterdir()
    document = etree.parse(str(written))
    official_pain001_schema().assertValid(document)  # checked here on its own, with lxml
    keys = [i.idempotency_key for i in items(engine)]
    ns = {"p": PAIN001_NS}
    assert document.xpath("//p:EndToEndId/text()", namespaces=ns) == keys
    memos = document.xpath("//p:RmtInf/p:Ustrd/text()", namespaces=ns)
    assert all(m.startswith(f"Qinqing subsidy {POLICY} redemption ") for m in memos)

    batch_ref = written.stem
    inbox = exchange / "inbox"
    today = localtime.local_date(db.utcnow())  # the day the items will be paid on
    accepted = sample_for("pain002-accepted.xml", keys, batch_ref, today)
    (inbox / "1-status.xml").write_text(accepted, encoding="utf-8")
    applied = tasks.settle_once(batch_id)
    assert applied is not None
    assert (applied.paid, applied.unsettled) == (3, 0)
    paid = items(engine)
    assert {i.state for i in paid} == {ItemState.PAID}
    day = paid[0].paid_on
    assert day is not None

    (inbox / "2-statement.xml").write_text(
        sample_for("camt053-two-statements.xml", keys, batch_ref, day), encoding="utf-8"
    )
    assert tasks.collect_returns_once() == 1
    after = items(engine)
    assert [i.state for i in after] == [ItemState.PAID, ItemState.RETURNED, ItemState.PAID]
    assert after[1].reason_code == "AC04"
    with Session(engine) as session:
        returned = session.get(Redemption, after[1].redemption_id)
        assert returned is not None
        assert returned.status == RedemptionStatus.RETURNED

    path = tmp_path / statement
    path.write_text(sample_for(statement, keys, batch_ref, day), encoding="utf-8")
    with db.session_scope(engine) as session:
        done = reconcile.reconcile(session, path, by="finance:wang.fang")
    assert (done.lines, done.matched, done.exceptions) == (6, 4, {"unmatched": 2})
    with Session(engine) as session:
        left = list(session.execute(select(ReconciliationException)).scalars())
        report = ledger_check.check(session)
    assert sorted((str(x.amount), x.payout_item_id) for x in left) == [
        ("1.00", None),
        ("5.00", None),
    ]  # the bank's charges: reported, matched to no item
    assert report.balanced, [str(i) for i in report.imbalances]
