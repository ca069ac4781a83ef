"""The payout core: approved redemptions gathered into batches per bank and paid exactly once,
through a bank that refuses, loses answers and rejects payees."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col
from typer.testing import CliRunner

from payouts import service, tasks
from payouts.gateways import Faults, SimulatedBank
from payouts.models import BatchState, ItemState, PayoutBatch, PayoutItem
from subsidy import db
from subsidy.audit import service as audit
from subsidy.cli import app
from subsidy.ledger import service as ledger
from subsidy.ledger.models import Account, LedgerEntry
from subsidy.redemption.models import Redemption, RedemptionStatus
from subsidy.registry.models import Enterprise
from subsidy.settings import get_settings
from tests.redemption.helpers import flat, load_registry, publish, redeem
from tests.snapshots import Snapshots

runner = CliRunner()


@pytest.fixture
def bank_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "bank.db"
    monkeypatch.setenv(
        "QINQING_BANK_URL",
        f"simulated://{path}?seed=5&transient=0.2&lost=0.2&reject=0.05&returned=0",
    )
    monkeypatch.setenv("QINQING_PAYOUT_BACKOFF_SECONDS", "0.01")
    get_settings.cache_clear()
    tasks.gateway.cache_clear()
    yield path
    tasks.gateway.cache_clear()
    get_settings.cache_clear()


@pytest.fixture
def redeemed(app_env: Engine, data_dir: Path, tmp_path: Path, worlds: Snapshots) -> list[int]:
    """Every active firm of a 300-firm registry redeemed a flat 120-yuan policy."""

    def build() -> list[int]:
        firms = load_registry(app_env, data_dir, tmp_path / "registry", 300)
        publish(app_env, flat("pay-120", 120, 10_000_000))
        return [_id(redeem(app_env, u, "pay-120", f"key-{u}").redemption.id) for u in firms]

    return worlds.once("payouts-300", build)


def _id(value: int | None) -> int:
    assert value is not None
    return value


def items(engine: Engine) -> list[PayoutItem]:
    with Session(engine) as session:
        return list(session.execute(select(PayoutItem).order_by(col(PayoutItem.id))).scalars())


def balance(engine: Engine, account: Account) -> Decimal:
    with Session(engine) as session:
        entered = session.execute(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                col(LedgerEntry.target) == account
            )
        ).scalar_one()
        left = session.execute(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                col(LedgerEntry.source) == account
            )
        ).scalar_one()
    return Decimal(entered) - Decimal(left)


def test_every_redemption_is_paid_once_or_returned_with_its_reason(
    app_env: Engine, bank_file: Path, redeemed: list[int]
) -> None:
    result = runner.invoke(app, ["payouts", "run", "--batch-size", "40"])
    assert result.exit_code == 0, result.output
    assert "every batch settled" in result.output
    settled = items(app_env)
    with Session(app_env) as session:
        no_account = set(
            session.execute(
                select(col(Redemption.id))
                .join(Enterprise, col(Enterprise.uscc) == col(Redemption.uscc))
                .where(col(Enterprise.bank_account).is_(None))
            ).scalars()
        )
    assert no_account, "the demo registry leaves 3% of firms without an account"
    assert f"{len(no_account):,} approved redemptions have no bank account" in result.output
    assert sorted(i.redemption_id for i in settled) == sorted(set(redeemed) - no_account)
    assert {i.state for i in settled} <= {ItemState.PAID, ItemState.RETURNED}
    returned = [i for i in settled if i.state == ItemState.RETURNED]
    assert returned, "a 5% rejection rate over this many payees rejects some"
    assert all(i.reason for i in returned)
    assert len({i.bank_code for i in settled}) > 1
    assert max(i.attempts for i in settled) > 1, "faults at these rates force retries"

    bank = SimulatedBank(bank_file, Faults.none())
    paid = [i for i in settled if i.state == ItemState.PAID]
    assert all(bank.times_paid(i.idempotency_key) == 1 for i in paid)
    assert all(bank.times_paid(i.idempotency_key) == 0 for i in returned)
    assert bank.paid_total() == sum((i.net for i in paid), Decimal("0.00"))
    with Session(app_env) as session:
        statuses = dict(session.execute(select(col(Redemption.id), col(Redemption.status))).all())
        batches = list(session.execute(select(PayoutBatch)).scalars())
        assert audit.verify(session).reason is None
    assert {statuses[i.redemption_id] for i in paid} == {RedemptionStatus.PAID}
    assert {statuses[i.redemption_id] for i in returned} == {RedemptionStatus.RETURNED}
    assert {b.state for b in batches} == {BatchState.DONE}
    assert all(b.items <= 40 for b in batches)
    assert balance(app_env, Account.PAID) == sum((i.amount for i in paid), Decimal("0.00"))
    waiting = Decimal(120 * len(no_account))  # approved, no account to pay them to
    assert balance(app_env, Account.PAYABLE) == waiting + sum(
        (i.amount for i in returned), Decimal("0.00")
    )

    again = runner.invoke(app, ["payouts", "run"])
    assert "gathered 0 items" in again.output
    assert len(items(app_env)) == len(settled)


def test_a_crash_after_claiming_never_pays_twice(
    app_env: Engine, bank_file: Path, redeemed: list[int]
) -> None:
    with db.session_scope(app_env) as session:
        batch_ids = service.gather(session, batch_size=500).batch_ids
    with db.session_scope(app_env) as session:
        claim = service.claim(session, batch_ids[0], now=db.utcnow())
    assert claim is not None
    assert claim.send
    bank = SimulatedBank(bank_file, Faults.none())
    bank.submit(claim.send[: len(claim.send) // 2])  # the bank paid half, then the worker died
    assert {i.state for i in items(app_env) if i.batch_id == batch_ids[0]} == {ItemState.SUBMITTED}

    for _ in range(50):
        if tasks.settle_once(batch_ids[0]) is None:
            break
    for batch_id in batch_ids[1:]:
        while (applied := tasks.settle_once(batch_id)) is not None and applied.retry_in:
            pass
    settled = items(app_env)
    assert {i.state for i in settled} <= {ItemState.PAID, ItemState.RETURNED}
    assert all(
        bank.times_paid(i.idempotency_key) == (1 if i.state == ItemState.PAID else 0)
        for i in settled
    )


def test_what_a_firm_owes_is_offset_against_its_next_payment(
    app_env: Engine, bank_file: Path, redeemed: list[int]
) -> None:
    with Session(app_env) as session:
        first, second = (session.get(Redemption, i) for i in redeemed[:2])
    assert first is not None
    assert second is not None
    with db.session_scope(app_env) as session:  # two clawbacks the firms have not repaid
        ledger.post(
            session,
            [
                ledger.Move(
                    "pay-120",
                    first.uscc,
                    _id(first.id),
                    Account.PAID,
                    Account.RECEIVABLE,
                    Decimal("50.00"),
                    "clawback",
                ),
                ledger.Move(
                    "pay-120",
                    second.uscc,
                    _id(second.id),
                    Account.PAID,
                    Account.RECEIVABLE,
                    Decimal("500.00"),
                    "clawback",
                ),
            ],
        )
    assert runner.invoke(app, ["payouts", "run"]).exit_code == 0
    by_redemption = {i.redemption_id: i for i in items(app_env)}
    partly, wholly = by_redemption[_id(first.id)], by_redemption[_id(second.id)]
    assert (partly.offset, partly.net) == (Decimal("50.00"), Decimal("70.00"))
    assert (wholly.offset, wholly.net) == (Decimal("120.00"), Decimal("0.00"))
    assert wholly.state == ItemState.PAID
    assert wholly.bank_reference == "OFFSET"
    bank = SimulatedBank(bank_file, Faults.none())
    assert bank.times_paid(wholly.idempotency_key) == 0
    owed = balance(app_env, Account.RECEIVABLE)
    settled_offsets = sum(
        (i.offset for i in by_redemption.values() if i.state == ItemState.PAID), Decimal(0)
    )
    assert owed == Decimal("550.00") - settled_offsets


def test_a_debt_is_withheld_once_across_runs_before_its_payment_is_made(
    app_env: Engine, redeemed: list[int]
) -> None:
    """A firm owing 100 is gathered once (100 withheld, not yet paid); a second run before that
    payment withholds nothing more from its next redemption."""
    with Session(app_env) as session:
        first = session.get(Redemption, redeemed[0])
    assert first is not None
    with db.session_scope(app_env) as session:
        move = ledger.Move(
            "pay-120",
            first.uscc,
            _id(first.id),
            Account.PAID,
            Account.RECEIVABLE,
            Decimal("100.00"),
            "clawback",
        )
        ledger.post(session, [move])
    with db.session_scope(app_env) as session:
        service.gather(session)  # items pending: nothing is paid yet
    publish(app_env, flat("pay-80", 80, 10_000_000))
    second = redeem(app_env, first.uscc, "pay-80", "second-key").redemption
    with db.session_scope(app_env) as session:
        service.gather(session)
    by_redemption = {i.redemption_id: i for i in items(app_env)}
    assert by_redemption[_id(first.id)].offset == Decimal("100.00")
    assert by_redemption[_id(second.id)].offset == Decimal("0.00")
    assert by_redemption[_id(second.id)].net == Decimal("80.00")


@pytest.mark.parametrize("chunk", [1, 7, 50, 10_000])
def test_gathering_in_chunks_gathers_each_redemption_once_and_hands_over_committed_batches(
    app_env: Engine, redeemed: list[int], chunk: int
) -> None:
    """Whatever the chunk, every approved redemption with an account gets one item, a debt is
    withheld once although the firm's redemptions fall in different chunks, and each chunk's
    batches are handed over only once they are committed (another session sees them)."""
    publish(app_env, flat("pay-80", 80, 10_000_000))
    with Session(app_env) as session:
        firm = session.get(Redemption, redeemed[0])
        approved = session.execute(
            select(func.count()).where(col(Redemption.status) == RedemptionStatus.APPROVED)
        ).scalar_one()
    assert firm is not None
    redeem(app_env, firm.uscc, "pay-80", "late-key")  # the firm's second, in a later chunk
    with db.session_scope(app_env) as session:
        move = ledger.Move(
            "pay-120", firm.uscc, _id(firm.id), Account.PAID, Account.RECEIVABLE,
            Decimal("150.00"), "clawback",
        )  # fmt: skip
        ledger.post(session, [move])
    handed: list[int] = []

    def committed(batch_ids: list[int]) -> None:
        with Session(app_env) as other:
            seen = other.execute(
                select(func.count()).where(col(PayoutBatch.id).in_(batch_ids))
            ).scalar_one()
        assert seen == len(batch_ids)
        handed.extend(batch_ids)

    gathered = tasks.gather_in_chunks(batch_size=40, chunk=chunk, gathered_batches=committed)
    found = items(app_env)
    assert sorted(handed) == sorted(gathered.batch_ids) == sorted({i.batch_id for i in found})
    assert len({i.redemption_id for i in found}) == len(found) == gathered.items
    assert gathered.items + len(gathered.without_account) == approved + 1
    assert sum((i.offset for i in found if i.uscc == firm.uscc), Decimal(0)) == Decimal("150.00")
    assert gathered.total == sum((i.amount for i in found), Decimal("0.00"))


def test_two_runs_never_put_a_redemption_in_two_payments(
    app_env: Engine, redeemed: list[int]
) -> None:
    with db.session_scope(app_env) as session:
        first = service.gather(session)
    with db.session_scope(app_env) as session:
        second = service.gather(session)
    assert first.items > 0
    assert second.items == 0


def test_payments_the_bank_returns_later_go_back_to_finance(
    app_env: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redeemed: list[int]
) -> None:
    bank_path = tmp_path / "returns.db"
    monkeypatch.setenv(
        "QINQING_BANK_URL", f"simulated://{bank_path}?seed=3&transient=0&lost=0&returned=0.3"
    )
    get_settings.cache_clear()
    tasks.gateway.cache_clear()
    result = runner.invoke(app, ["payouts", "run"])
    tasks.gateway.cache_clear()
    assert result.exit_code == 0, result.output
    settled = items(app_env)
    returned = [i for i in settled if i.state == ItemState.RETURNED]
    paid = [i for i in settled if i.state == ItemState.PAID]
    bank = SimulatedBank(bank_path, Faults.none())
    came_back = bank.returned_total()
    assert came_back > 0
    assert f"{len([i for i in returned if i.bank_reference]):,} payments came back" in result.output
    assert sum((i.amount for i in returned if i.bank_reference), Decimal(0)) == came_back
    assert balance(app_env, Account.PAID) == sum((i.amount for i in paid), Decimal(0))
    assert bank.paid_total() - came_back == sum((i.net for i in paid), Decimal(0))


def test_a_payment_returned_before_its_answer_arrived_is_booked_both_ways(
    app_env: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redeemed: list[int]
) -> None:
    bank_path = tmp_path / "always-returns.db"
    monkeypatch.setenv(
        "QINQING_BANK_URL", f"simulated://{bank_path}?seed=1&transient=0&lost=0&reject=0&returned=1"
    )
    get_settings.cache_clear()
    tasks.gateway.cache_clear()
    with db.session_scope(app_env) as session:
        batch_id = service.gather(session, batch_size=10_000).batch_ids[0]
    with db.session_scope(app_env) as session:
        claim = service.claim(session, batch_id, now=db.utcnow())
    assert claim is not None
    bank = SimulatedBank(
        bank_path,
        Faults(seed=1, transient_rate=0, lost_answer_rate=0, reject_rate=0, return_rate=1),
    )
    bank.submit(claim.send)  # paid; the answer never reached us; then every payment came back
    tasks.settle_once(batch_id)
    tasks.gateway.cache_clear()
    settled = [i for i in items(app_env) if i.batch_id == batch_id]
    assert {i.state for i in settled} == {ItemState.RETURNED}
    assert all(i.bank_reference for i in settled)
    assert balance(app_env, Account.PAID) == 0
    with Session(app_env) as session:
        moves = session.execute(
            select(col(LedgerEntry.memo), func.count()).group_by(col(LedgerEntry.memo))
        ).all()
    assert dict(moves)["paid"] == dict(moves)["returned"] == len(settled)
