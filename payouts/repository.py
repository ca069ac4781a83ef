"""Queries of the payout core."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlmodel import Session, col

from payouts.models import (
    UNSETTLED,
    BatchState,
    ItemState,
    PayeeAccount,
    PayoutBatch,
    PayoutItem,
    item_key,
)
from subsidy.ledger.models import Account, LedgerEntry
from subsidy.redemption.models import Redemption, RedemptionStatus
from subsidy.registry.models import Enterprise
from subsidy.settings import get_settings


@dataclass(frozen=True)
class Payable:
    redemption_id: int
    policy_id: str
    uscc: str
    amount: Decimal
    name: str
    account: str | None


def payable(session: Session, *, after: int = 0, limit: int | None = None) -> list[Payable]:
    """Approved redemptions with the payee's name and account (finance's correction of the
    redemption first, then the firm's account finance entered and another confirmed, then the
    registry's), in id order from `after` (exclusive), at most `limit`.

    Locked, skipping rows another run holds: two concurrent runs never gather the same one
    (and the live-item unique index would refuse it if they did)."""
    query = (
        select(
            col(Redemption.id),
            col(Redemption.policy_id),
            col(Redemption.uscc),
            col(Redemption.amount),
            col(Enterprise.name),
            receiving_account(),
        )
        .join(Enterprise, col(Enterprise.uscc) == col(Redemption.uscc), isouter=True)
        .join(PayeeAccount, confirmed_payee(), isouter=True)
        .where(col(Redemption.status) == RedemptionStatus.APPROVED, col(Redemption.id) > after)
        .order_by(col(Redemption.id))
        .limit(limit)
        .with_for_update(skip_locked=True, of=Redemption)
    )
    return [
        Payable(int(i), p, u, Decimal(a), n or u, acct)
        for i, p, u, a, n, acct in session.execute(query)
    ]


def confirmed_payee() -> Any:
    """The join condition of the firm's entered account, once a second finance user confirmed
    it (an unconfirmed entry pays nobody)."""
    return and_(
        col(PayeeAccount.uscc) == col(Redemption.uscc), col(PayeeAccount.confirmed_by).is_not(None)
    )


def receiving_account() -> Any:
    """Where a redemption is paid (see `payable`); in a query joined with `confirmed_payee`."""
    return func.coalesce(
        col(Redemption.account_override),
        col(PayeeAccount.account),
        func.nullif(col(Enterprise.bank_account), ""),
    )


def receivables(session: Session, usccs: Sequence[str]) -> dict[str, Decimal]:
    """What each of these firms still owes from clawbacks, where it owes: its receivable balance
    less the offsets of its items not yet paid. An offset leaves the receivable only when its
    item is paid; without the second term a run gathering before an earlier run's items were
    paid would withhold the same debt twice."""
    entered = case(
        (col(LedgerEntry.target) == Account.RECEIVABLE, col(LedgerEntry.amount)), else_=0
    )
    left = case((col(LedgerEntry.source) == Account.RECEIVABLE, col(LedgerEntry.amount)), else_=0)
    wanted = set(usccs)
    balances = (
        select(col(LedgerEntry.uscc), func.sum(entered) - func.sum(left))
        .where(
            (col(LedgerEntry.source) == Account.RECEIVABLE)
            | (col(LedgerEntry.target) == Account.RECEIVABLE)
        )
        .group_by(col(LedgerEntry.uscc))
    )
    owed = {
        uscc: Decimal(balance)
        for uscc, balance in session.execute(balances)
        if uscc in wanted and balance and Decimal(balance) > 0
    }
    if not owed:
        return owed
    withheld = (
        select(col(PayoutItem.uscc), func.sum(col(PayoutItem.offset)))
        .where(col(PayoutItem.state).in_(UNSETTLED), col(PayoutItem.offset) > 0)
        .group_by(col(PayoutItem.uscc))
    )
    for uscc, offsets in session.execute(withheld):
        if uscc in owed:
            owed[uscc] -= Decimal(offsets)
    return {uscc: amount for uscc, amount in owed.items() if amount > 0}


def in_batches(batch_ids: Sequence[int]) -> Any:
    """The ids of the redemptions with an item in these batches (a subquery)."""
    return select(col(PayoutItem.redemption_id)).where(
        col(PayoutItem.batch_id).in_(list(batch_ids))
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


def paid_since(session: Session, since: date) -> list[int]:
    """Ids of the items paid through the bank on or after `since` (ids only: a day's run asks
    about every payment of a month, and loading each as an object took most of its time)."""
    query = (
        select(col(PayoutItem.id))
        .where(col(PayoutItem.state) == ItemState.PAID, col(PayoutItem.paid_on) >= since)
        .where(col(PayoutItem.bank_reference) != "OFFSET")  # settled without the bank
        .order_by(col(PayoutItem.id))
    )
    return list(session.execute(query).scalars())


def paid_items_locked(session: Session, item_ids: Sequence[int]) -> list[PayoutItem]:
    found: list[PayoutItem] = []
    bound = get_settings().in_list_bound
    for start in range(0, len(item_ids), bound):
        query = (
            select(PayoutItem)
            .where(
                col(PayoutItem.id).in_(list(item_ids[start : start + bound])),
                col(PayoutItem.state) == ItemState.PAID,
            )
            .order_by(col(PayoutItem.id))
            .with_for_update()
        )
        found += session.execute(query).scalars()
    return found


@dataclass(frozen=True)
class Due:
    """What sending an item needs, as `claim_due` left it."""

    id: int
    policy_id: str
    uscc: str
    payee_name: str
    bank_code: str
    account: str
    net: Decimal
    redemption_id: int

    @property
    def idempotency_key(self) -> str:
        return item_key(self.id)


def claim_due(session: Session, batch_id: int, *, now: datetime) -> list[Due]:
    """Mark the batch's items due for sending `submitted` (one UPDATE ... RETURNING): pending
    ones, and failed ones whose backoff has passed."""
    due = or_(
        col(PayoutItem.state) == ItemState.PENDING,
        and_(
            col(PayoutItem.state) == ItemState.FAILED,
            or_(col(PayoutItem.next_attempt_at).is_(None), col(PayoutItem.next_attempt_at) <= now),
        ),
    )
    table = PayoutItem.__table__  # type: ignore[attr-defined]
    statement = (
        update(table)
        .where(col(PayoutItem.batch_id) == batch_id, due)
        .values(
            state=str(ItemState.SUBMITTED),
            attempts=col(PayoutItem.attempts) + 1,
            updated_at=now,
        )
        .returning(*(table.c[f.name] for f in fields(Due)))
    )
    return sorted((Due(*row) for row in session.execute(statement)), key=lambda d: d.id)
