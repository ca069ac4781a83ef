"""What every officer or finance action on one redemption shares: who acts, the row locked for
the change, its payout items, maker-checker, and what the audit trail keeps of it.

Actors are written `<role>:<subject>` (`subsidy.actors`, shared with the policies' maker-checker):
maker-checker compares the person, the part after the role, so whoever made a change never
checks it under another hat.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from payouts.errors import MakerChecker, PayoutNotFound
from payouts.models import UNSETTLED, ItemState, PayoutItem
from subsidy.actors import actor as actor  # re-exported: the payout modules import it here
from subsidy.actors import person as person
from subsidy.errors import Term
from subsidy.masking import mask
from subsidy.redemption.models import Redemption


def check_not_maker(redemption: Redemption, checker: str, action: str) -> None:
    """Refuse `checker` if they made the change to be checked (recorded in `changed_by`)."""
    if person(redemption.changed_by) == person(checker):
        raise MakerChecker(
            by=checker,
            redemption_id=redemption.id,
            changed_by=redemption.changed_by,
            action=Term(f"error_word.{action}"),
        )


def locked(session: Session, redemption_id: int) -> Redemption:
    """The redemption, read afresh and locked until the transaction ends (PostgreSQL; SQLite
    serialises writers anyway), so a concurrent payout run or action waits for this one."""
    query = (
        select(Redemption)
        .where(col(Redemption.id) == redemption_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    found: Redemption | None = session.execute(query).scalars().first()
    if found is None:
        raise PayoutNotFound(code="payout.not_found.redemption", redemption_id=redemption_id)
    return found


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


def audited(redemption: Redemption, **more: Any) -> dict[str, Any]:
    """The redemption as the audit trail keeps it (the corrected account masked)."""
    return {
        "policy": redemption.policy_id,
        "uscc": redemption.uscc,
        "amount": str(redemption.amount),
        "status": str(redemption.status),
        "changed_by": redemption.changed_by,
        "account_override": mask(redemption.account_override),
    } | more
