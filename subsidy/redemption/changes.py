"""What every change to a made redemption shares: the row locked for it, maker-checker, a reason,
and the audit entry of what it was before and after.

Every officer or finance action, and every payout step that changes one redemption, goes through
`audited_change`: lock the row (read afresh), let the caller check and change it, flush, and
record the change with the redemption as the audit trail keeps it before and after. A refusal
raised inside the block records nothing, and the request's transaction rolls back the rest.

Actors are written `<role>:<subject>` (`subsidy.actors`): maker-checker compares the person, the
part after the role, so whoever made a change never checks it under another hat.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from subsidy.actors import person
from subsidy.audit import service as audit
from subsidy.errors import Term
from subsidy.masking import mask
from subsidy.redemption.errors import InvalidPayoutInput, MakerChecker, PayoutNotFound
from subsidy.redemption.models import Redemption

MAX_REASON = 500


@dataclass
class Change:
    """A redemption being changed inside `audited_change`."""

    redemption: Redemption
    noted: dict[str, Any] = field(default_factory=dict)
    """What the audit entry's `after` adds to the redemption's state (a reason, a ledger move)."""

    def note(self, **facts: Any) -> None:
        self.noted |= facts


@contextmanager
def audited_change(
    session: Session, redemption_id: int, *, by: str, action: str
) -> Iterator[Change]:
    """Lock the redemption; on leaving the block, flush it and record `action` by `by`."""
    redemption = locked(session, redemption_id)
    before = audited(redemption)
    change = Change(redemption)
    yield change
    session.add(redemption)
    session.flush()
    audit.record(
        session,
        actor=by,
        action=action,
        subject=f"redemption:{redemption_id}",
        before=before,
        after=audited(redemption, **change.noted),
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


def check_not_maker(redemption: Redemption, checker: str, action: str) -> None:
    """Refuse `checker` if they made the change to be checked (recorded in `changed_by`)."""
    if person(redemption.changed_by) == person(checker):
        raise MakerChecker(
            by=checker,
            redemption_id=redemption.id,
            changed_by=redemption.changed_by,
            action=Term(f"error_word.{action}"),
        )


def check_reason(reason: str) -> str:
    """A reason as recorded: trimmed, not empty, at most MAX_REASON characters."""
    reason = reason.strip()
    if not reason:
        raise InvalidPayoutInput(code="payout.reason_missing")
    if len(reason) > MAX_REASON:
        raise InvalidPayoutInput(code="payout.reason_too_long", limit=MAX_REASON)
    return reason


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
