"""What finance, officers and auditors read about payouts: batches with their items counted by
state, a batch's items, redemptions by status, firm flags, reconciliation exceptions.

Lists are pages in id order with a keyset cursor (`after` / `before`) or an `offset` (the
portal's numbered pages), each with a count of the whole list (`count_*`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from payouts.errors import UnknownBatch
from payouts.models import PayoutBatch, PayoutItem, ReconciliationException
from subsidy.auth import Role
from subsidy.redemption.models import Redemption

MAX_PAGE = 1_000
READERS = (Role.FINANCE, Role.AUDITOR)
"""Who reads payout runs, batches, statements and exceptions (API and portal alike)."""
REDEMPTION_READERS = (Role.OFFICER, Role.FINANCE, Role.AUDITOR)
"""Who reads the held and returned redemptions: officers approve them, finance corrects them."""


@dataclass(frozen=True)
class StateTotal:
    items: int
    net: Decimal


@dataclass(frozen=True)
class BatchSummary:
    batch: PayoutBatch
    by_state: dict[str, StateTotal] = field(default_factory=dict)


def batches(
    session: Session,
    *,
    limit: int,
    before: int | None = None,
    offset: int = 0,
    run_id: int | None = None,
) -> list[BatchSummary]:
    """Newest first; `before` a batch id to page back; of one run when given."""
    query = select(PayoutBatch).order_by(col(PayoutBatch.id).desc()).offset(offset).limit(limit)
    if before is not None:
        query = query.where(col(PayoutBatch.id) < before)
    if run_id is not None:
        query = query.where(col(PayoutBatch.run_id) == run_id)
    found = list(session.execute(query).scalars())
    return _summaries(session, found)


def count_batches(session: Session, *, run_id: int | None = None) -> int:
    query = select(func.count()).select_from(PayoutBatch)
    if run_id is not None:
        query = query.where(col(PayoutBatch.run_id) == run_id)
    return _count(session, query)


def _count(session: Session, query: Any) -> int:
    return int(session.execute(query).scalar_one())


def batch(session: Session, batch_id: int) -> BatchSummary:
    found = session.get(PayoutBatch, batch_id)
    if found is None:
        raise UnknownBatch(batch_id=batch_id)
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
    offset: int = 0,
) -> list[PayoutItem]:
    batch(session, batch_id)  # 404 for a batch that does not exist, [] for an empty page
    query = (
        select(PayoutItem)
        .where(col(PayoutItem.batch_id) == batch_id)
        .order_by(col(PayoutItem.id))
        .offset(offset)
        .limit(limit)
    )
    if state is not None:
        query = query.where(col(PayoutItem.state) == state)
    if after is not None:
        query = query.where(col(PayoutItem.id) > after)
    return list(session.execute(query).scalars())


def count_items(session: Session, batch_id: int, *, state: str | None = None) -> int:
    query = select(func.count()).where(col(PayoutItem.batch_id) == batch_id)
    if state is not None:
        query = query.where(col(PayoutItem.state) == state)
    return _count(session, query)


def redemptions(
    session: Session,
    *,
    status: str | None = None,
    policy_id: str | None = None,
    uscc: str | None = None,
    limit: int,
    after: int | None = None,
    offset: int = 0,
) -> list[Redemption]:
    query = _redemptions_where(select(Redemption), status, policy_id, uscc)
    if after is not None:
        query = query.where(col(Redemption.id) > after)
    query = query.order_by(col(Redemption.id)).offset(offset).limit(limit)
    return list(session.execute(query).scalars())


def count_redemptions(
    session: Session,
    *,
    status: str | None = None,
    policy_id: str | None = None,
    uscc: str | None = None,
) -> int:
    query = select(func.count()).select_from(Redemption)
    return _count(session, _redemptions_where(query, status, policy_id, uscc))


def _redemptions_where(
    query: Any, status: str | None, policy_id: str | None, uscc: str | None
) -> Any:
    if status is not None:
        query = query.where(col(Redemption.status) == status)
    if policy_id is not None:
        query = query.where(col(Redemption.policy_id) == policy_id)
    if uscc is not None:
        query = query.where(col(Redemption.uscc) == uscc)
    return query


def exceptions(
    session: Session,
    *,
    resolved: bool | None = None,
    kind: str | None = None,
    statement: str | None = None,
    limit: int,
    after: int | None = None,
    offset: int = 0,
) -> list[ReconciliationException]:
    query = _exceptions_where(select(ReconciliationException), resolved, kind, statement)
    if after is not None:
        query = query.where(col(ReconciliationException.id) > after)
    query = query.order_by(col(ReconciliationException.id)).offset(offset).limit(limit)
    return list(session.execute(query).scalars())


def count_exceptions(
    session: Session,
    *,
    resolved: bool | None = None,
    kind: str | None = None,
    statement: str | None = None,
) -> int:
    query = select(func.count()).select_from(ReconciliationException)
    return _count(session, _exceptions_where(query, resolved, kind, statement))


def _exceptions_where(
    query: Any, resolved: bool | None, kind: str | None, statement: str | None
) -> Any:
    if resolved is not None:
        resolved_at = col(ReconciliationException.resolved_at)
        query = query.where(resolved_at.is_not(None) if resolved else resolved_at.is_(None))
    if kind is not None:
        query = query.where(col(ReconciliationException.kind) == kind)
    if statement is not None:
        query = query.where(col(ReconciliationException.statement) == statement)
    return query
