"""What finance, officers and auditors read about payouts: batches with their items counted by
state, a batch's items, redemptions by status, firm flags, reconciliation exceptions.

Lists are pages in id order with a keyset cursor (`after` / `before`), never OFFSET.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlmodel import Session, col

from payouts.errors import UnknownBatch
from payouts.models import PayoutBatch, PayoutItem, ReconciliationException
from subsidy.redemption.models import Redemption

MAX_PAGE = 1_000


@dataclass(frozen=True)
class StateTotal:
    items: int
    net: Decimal


@dataclass(frozen=True)
class BatchSummary:
    batch: PayoutBatch
    by_state: dict[str, StateTotal] = field(default_factory=dict)


def batches(session: Session, *, limit: int, before: int | None = None) -> list[BatchSummary]:
    """Newest first; `before` a batch id to page back."""
    query = select(PayoutBatch).order_by(col(PayoutBatch.id).desc()).limit(limit)
    if before is not None:
        query = query.where(col(PayoutBatch.id) < before)
    found = list(session.execute(query).scalars())
    return _summaries(session, found)


def batch(session: Session, batch_id: int) -> BatchSummary:
    found = session.get(PayoutBatch, batch_id)
    if found is None:
        raise UnknownBatch(f"no payout batch {batch_id}")
    return _summaries(session, [found])[0]


def _summaries(session: Session, found: list[PayoutBatch]) -> list[BatchSummary]:
    """Each batch with its items' count and net total per state, in one grouped query."""
    ids = [b.id for b in found]
    totals: dict[int, dict[str, StateTotal]] = defaultdict(dict)
    if ids:
        query = (
            select(
                col(PayoutItem.batch_id),
                col(PayoutItem.state),
                func.count(),
                func.sum(col(PayoutItem.net)),
            )
            .where(col(PayoutItem.batch_id).in_(ids))
            .group_by(col(PayoutItem.batch_id), col(PayoutItem.state))
        )
        for batch_id, state, count, net in session.execute(query):
            totals[int(batch_id)][str(state)] = StateTotal(int(count), Decimal(net))
    return [BatchSummary(b, dict(sorted(totals[b.id].items()))) for b in found if b.id is not None]


def items(
    session: Session,
    batch_id: int,
    *,
    state: str | None = None,
    limit: int,
    after: int | None = None,
) -> list[PayoutItem]:
    batch(session, batch_id)  # 404 for a batch that does not exist, [] for an empty page
    query = (
        select(PayoutItem)
        .where(col(PayoutItem.batch_id) == batch_id)
        .order_by(col(PayoutItem.id))
        .limit(limit)
    )
    if state is not None:
        query = query.where(col(PayoutItem.state) == state)
    if after is not None:
        query = query.where(col(PayoutItem.id) > after)
    return list(session.execute(query).scalars())


def redemptions(
    session: Session,
    *,
    status: str | None = None,
    policy_id: str | None = None,
    uscc: str | None = None,
    limit: int,
    after: int | None = None,
) -> list[Redemption]:
    query = select(Redemption).order_by(col(Redemption.id)).limit(limit)
    if status is not None:
        query = query.where(col(Redemption.status) == status)
    if policy_id is not None:
        query = query.where(col(Redemption.policy_id) == policy_id)
    if uscc is not None:
        query = query.where(col(Redemption.uscc) == uscc)
    if after is not None:
        query = query.where(col(Redemption.id) > after)
    return list(session.execute(query).scalars())


def exceptions(
    session: Session,
    *,
    resolved: bool | None = None,
    kind: str | None = None,
    limit: int,
    after: int | None = None,
) -> list[ReconciliationException]:
    query = select(ReconciliationException).order_by(col(ReconciliationException.id)).limit(limit)
    if resolved is not None:
        resolved_at = col(ReconciliationException.resolved_at)
        query = query.where(resolved_at.is_not(None) if resolved else resolved_at.is_(None))
    if kind is not None:
        query = query.where(col(ReconciliationException.kind) == kind)
    if after is not None:
        query = query.where(col(ReconciliationException.id) > after)
    return list(session.execute(query).scalars())
