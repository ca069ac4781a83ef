"""Everything around the payout core, through the core itself and a simulated bank that loses
answers, refuses closed accounts and returns payments: holds approved by another person, a
clawback offset against the firm's next payment, refused payments corrected and paid again under
new keys, the ledger whole after every run, and the bank's own statement reconciled."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from typer.testing import CliRunner

from payouts import ledger_check, reconcile, retry, reversal, tasks
from payouts.gateways import Faults, SimulatedBank
from payouts.models import ItemState, PayoutItem
from payouts.statement import write_statement
from subsidy import db
from subsidy.audit import service as audit
from subsidy.cli import app
from subsidy.redemption import approval
from subsidy.redemption.models import Redemption, RedemptionStatus
from subsidy.registry.models import Enterprise
from subsidy.settings import get_settings
from tests.redemption.helpers import TODAY, flat, load_registry, publish, redeem

runner = CliRunner()
FAULTS = "seed=9&transient=0.2&lost=0.2&reject=0&returned=0.3"


def run_payouts() -> None:
    result = runner.invoke(app, ["payouts", "run", "--batch-size", "25"])
    assert result.exit_code == 0, result.output
    assert "every batch settled" in result.output


def assert_balanced(engine: Engine) -> None:
    with Session(engine) as session:
        report = ledger_check.check(session)
    assert report.balanced, [str(i) for i in report.imbalances]


def status(engine: Engine, redemption_id: int) -> str:
    with Session(engine) as session:
        found = session.get(Redemption, redemption_id)
        assert found is not None
        return str(found.status)


def items_of(engine: Engine, redemption_id: int) -> list[PayoutItem]:
    with Session(engine) as session:
        query = (
            select(PayoutItem)
            .where(col(PayoutItem.redemption_id) == redemption_id)
            .order_by(col(PayoutItem.id))
        )
        return list(session.execute(query).scalars())


@pytest.fixture
def firms(app_env: Engine, data_dir: Path, tmp_path: Path) -> list[tuple[str, str]]:
    """(USCC, account) of the active firms with an account, USCC order."""
    active = set(load_registry(app_env, data_dir, tmp_path / "registry", 80))
    with Session(app_env) as session:
        rows = session.execute(
            select(col(Enterprise.uscc), col(Enterprise.bank_account)).order_by(
                col(Enterprise.uscc)
            )
        ).all()
    return [(u, a) for u, a in rows if u in active and a]


@pytest.fixture
def bank(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, firms: list[tuple[str, str]]
) -> Iterator[Path]:
    path = tmp_path / "bank.db"
    closed = ",".join(account for _, account in firms[3:5])
    monkeypatch.setenv(
        "QINQING_BANK_URL",
        f"simulated://{path}?{FAULTS}&closed={closed}",
    )
    monkeypatch.setenv("QINQING_PAYOUT_BACKOFF_SECONDS", "0.01")
    get_settings.cache_clear()
    tasks.gateway.cache_clear()
    yield path
    tasks.gateway.cache_clear()
    get_settings.cache_clear()


def test_around_the_payout_core(
    app_env: Engine, firms: list[tuple[str, str]], bank: Path, tmp_path: Path
) -> None:
    engine = app_env
    publish(engine, flat("pay-120", 120, 10_000_000))
    big = flat("pay-big", 5000, 10_000_000)
    publish(engine, big.model_copy(update={"review_threshold": Decimal(1000)}))
    with db.session_scope(engine) as session:
        approval.flag(session, firms[2][0], "tip-off", by="officer:li")
    small = {u: _id(redeem(engine, u, "pay-120", f"s-{u}").redemption.id) for u, _ in firms}
    large = {u: _id(redeem(engine, u, "pay-big", f"b-{u}").redemption.id) for u, _ in firms[:2]}
    assert status(engine, small[firms[2][0]]) == "held"
    assert {status(engine, r) for r in large.values()} == {"held"}
    with db.session_scope(engine) as session:
        approval.approve(session, large[firms[0][0]], by="officer:zhao")
        approval.approve(session, small[firms[2][0]], by="officer:zhao")
    assert_balanced(engine)

    run_payouts()
    assert_balanced(engine)
    refused = [small[u] for u, _ in firms[3:5]]
    assert {status(engine, r) for r in refused} == {"returned"}
    clawed = small[firms[1][0]]
    assert status(engine, clawed) == "paid"

    # A clawback settled from the firm's next payment: its held 5,000, approved now.
    with db.session_scope(engine) as session:
        reversal.reverse(session, clawed, "paid in error", by="officer:li")
        approval.approve(session, large[firms[1][0]], by="officer:zhao")
    # Refused payments: one finance user corrects, another releases.
    for n, redemption in enumerate(refused):
        with db.session_scope(engine) as session:
            retry.correct_account(session, redemption, f"95588000000000{n:05d}", by="finance:wang")
        with db.session_scope(engine) as session:
            retry.release(session, redemption, by="finance:zhao")
    assert_balanced(engine)

    run_payouts()
    assert_balanced(engine)
    (offset_item,) = items_of(engine, large[firms[1][0]])
    assert (offset_item.offset, offset_item.net) == (Decimal("120.00"), Decimal("4880.00"))
    for redemption in refused:
        first, second = items_of(engine, redemption)
        assert first.state == ItemState.RETURNED
        assert second.state == ItemState.PAID
        assert second.idempotency_key != first.idempotency_key
        assert second.account.startswith("95588")
        assert status(engine, redemption) == RedemptionStatus.PAID

    # The bank's own statement: every line matches an item, and every return the bank made,
    # before or after its batch closed, is booked (`payouts run` collects returns).
    lines = SimulatedBank(bank, Faults.none()).statement(
        TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=1)
    )
    statement = tmp_path / "statement.csv"
    write_statement(statement, lines)
    with db.session_scope(engine) as session:
        done = reconcile.reconcile(session, statement, by="finance:wang")
    with Session(engine) as session:
        state = dict(session.execute(select(col(PayoutItem.id), col(PayoutItem.state))).all())
    returns = [
        int(x.idempotency_key[4:]) for x in lines if x.kind == "return" and x.idempotency_key
    ]
    assert returns, "this seed returns payments"
    assert [i for i in returns if state[i] != ItemState.RETURNED] == []
    assert done.matched == len(lines)
    assert done.exceptions == {}
    with db.session_scope(engine) as session:
        assert reconcile.reconcile(session, statement, by="finance:wang").repeated
    assert_balanced(engine)
    with Session(engine) as session:
        assert audit.verify(session).reason is None


def _id(value: int | None) -> int:
    assert value is not None
    return value
