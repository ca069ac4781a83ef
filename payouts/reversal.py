"""Reversal and clawback: an officer takes a redemption back, with a reason.

Where its money sits decides the ledger move:

    held                    reserved   -> budget      (never approved)
    approved, returned      payable    -> budget      (owed, not paid)
    paid                    paid       -> receivable  (the firm now owes it back: a clawback)
    paying                  refused: the bank may be paying it right now; wait for the batch to
                            settle, then reverse what it became (paid or returned)
    reversed                refused: a reversal is final

In every case the policy's budget is released, so others may redeem it, and the redemption
becomes `reversed` (the change itself: `subsidy.redemption.payment.reverse`). What is asked here
is what only the payout items know: is a batch paying it, which item paid it. A receivable is
settled later by the payout run, which offsets what the firm owes against its next payments.
Flush only, audited.
"""

from __future__ import annotations

from sqlmodel import Session

from payouts.redemptions import live_item, paid_item
from subsidy.redemption import payment
from subsidy.redemption.changes import audited_change, check_reason
from subsidy.redemption.models import RedemptionStatus
from subsidy.redemption.payment import Reversal

REVERSE = "redemption.reverse"

__all__ = ["REVERSE", "Reversal", "reverse"]


def reverse(session: Session, redemption_id: int, reason: str, *, by: str) -> Reversal:
    """Reverse the redemption as `by` (an actor, `officer:<subject>`) for `reason`."""
    reason = check_reason(reason)
    with audited_change(session, redemption_id, by=by, action=REVERSE) as change:
        status = change.redemption.status
        live = None if status == RedemptionStatus.REVERSED else live_item(session, redemption_id)
        paid = paid_item(session, redemption_id) if status == RedemptionStatus.PAID else None
        return payment.reverse(
            session,
            change,
            reason=reason,
            batch_id=live.batch_id if live else None,
            paid_by=paid.id if paid else None,
        )
