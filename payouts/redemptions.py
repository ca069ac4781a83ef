"""What the payout items say of one redemption: is it being paid, what paid it, what came back.

The redemption's own changes (lock, maker-checker, audit, status) belong to
`subsidy.redemption`; the payouts ask these before asking it for a change.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from payouts.models import UNSETTLED, ItemState, PayoutItem


def live_item(session: Session, redemption_id: int) -> PayoutItem | None:
    """The redemption's payout item still being paid (pending, submitted or failed), if any."""
    query = select(PayoutItem).where(
        col(PayoutItem.redemption_id) == redemption_id, col(PayoutItem.state).in_(UNSETTLED)
    )
    return session.execute(query).scalars().first()


def paid_item(session: Session, redemption_id: int) -> PayoutItem | None:
    """The item that paid the redemption (at most one: the live-item index allows one)."""
    query = select(PayoutItem).where(
        col(PayoutItem.redemption_id) == redemption_id, col(PayoutItem.state) == ItemState.PAID
    )
    return session.execute(query).scalars().first()


def latest_returned_item(session: Session, redemption_id: int) -> PayoutItem | None:
    query = (
        select(PayoutItem)
        .where(
            col(PayoutItem.redemption_id) == redemption_id,
            col(PayoutItem.state) == ItemState.RETURNED,
        )
        .order_by(col(PayoutItem.id).desc())
        .limit(1)
    )
    return session.execute(query).scalars().first()
