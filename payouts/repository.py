"""Queries of the payout core."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, func, select, update
from sqlmodel import Session, col

from payouts.models import UNSETTLED, BatchState, ItemState, PayoutBatch, PayoutItem
from subsidy.ledger.models import Account, LedgerEntry
from subsidy.redemption.models import Redemption, RedemptionStatus
from subsidy.registry.models import Enterprise


@dataclass(frozen=True)
class Payable:
    redemption_id: int
    policy_id: str
    uscc: str
    amount: Decimal
    name: str
    account: str | None


def payable(session: Session) -> list[Payable]:
    """Approved redemptions with the payee's name and account (finance's correction first).

    Locked, skipping rows another run holds: two concurrent runs never gather the same one
    (and the live-item unique index would refuse it if they did)."""
    query = (
        select(
            col(Redemption.id),
            col(Redemption.policy_id),
            col(Redemption.uscc),
            col(Redemption.amount),
            col(Enterprise.name),
            func.coalesce(col(Redemption.account_override), col(Enterprise.bank_account)),
        )
        .join(Enterprise, col(Enterprise.uscc) == col(Redemption.uscc), isouter=True)
        .where(col(Redemption.status) == RedemptionStatus.APPROVED)
        .order_by(col(Redemption.id))
        .with_for_update(skip_locked=True, of=Redemption)
    )
    return [
        Payable(int(i), p, u, Decimal(a), n or u, acct)
        for i, p, u, a, n, acct in session.execute(query)
    ]


def receivables(session: Session, usccs: Sequence[str]) -> dict[str, Decimal]:
    """What each of these firms owes from clawbacks (receivable balance), where it owes."""
    entered = case(
        (col(LedgerEntry.target) == Account.RECEIVABLE, col(LedgerEntry.amount)), else_=0
    )
    left = case((col(LedgerEntry.source) == Account.RECEIVABLE, col(LedgerEntry.amount)), else_=0)
    owed: dict[str, Decimal] = {}
    wanted = set(usccs)
    query = (
        select(col(LedgerEntry.uscc), func.sum(entered) - func.sum(left))
        .where(
            (col(LedgerEntry.source) == Account.RECEIVABLE)
            | (col(LedgerEntry.target) == Account.RECEIVABLE)
        )
        .group_by(col(LedgerEntry.uscc))
    )
    for uscc, balance in session.execute(query):
        if uscc in wanted and balance and Decimal(balance) > 0:
            owed[uscc] = Decimal(balance)
    return owed


def set_status(session: Session, redemption_ids: Sequence[int], status: RedemptionStatus) -> None:
    for start in range(0, len(redemption_ids), 5_000):
        chunk = list(redemption_ids[start : start + 5_000])
        session.execute(
            update(Redemption).where(col(Redemption.id).in_(chunk)).values(status=str(status))
        )


def locked_batch(session: Session, batch_id: int) -> PayoutBatch | None:
    query = select(PayoutBatch).where(col(PayoutBatch.id) == batch_id).with_for_update()
    return session.execute(query).scalars().first()


def items_of(
    session: Session, batch_id: int, states: Sequence[ItemState], *, lock: bool = False
) -> list[PayoutItem]:
    query = (
        select(PayoutItem)
        .where(col(PayoutItem.batch_id) == batch_id, col(PayoutItem.state).in_(states))
        .order_by(col(PayoutItem.id))
    )
    if lock:
        query = query.with_for_update()
    return list(session.execute(query).scalars())


def unsettled_left(session: Session, batch_id: int) -> int:
    query = select(func.count()).where(
        col(PayoutItem.batch_id) == batch_id, col(PayoutItem.state).in_(UNSETTLED)
    )
    return int(session.execute(query).scalar_one())


def open_batches(session: Session) -> list[int]:
    query = (
        select(col(PayoutBatch.id))
        .where(col(PayoutBatch.state) == BatchState.OPEN)
        .order_by(col(PayoutBatch.id))
    )
    return [int(i) for i in session.execute(query).scalars()]
