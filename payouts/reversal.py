"""Reversal and clawback: an officer takes a redemption back, with a reason.

Where its money sits decides the ledger move:

    held                    reserved   -> budget      (never approved)
    approved, returned      payable    -> budget      (owed, not paid)
    paid                    paid       -> receivable  (the firm now owes it back: a clawback)
    paying                  refused: the bank may be paying it right now; wait for the batch to
                            settle, then reverse what it became (paid or returned)
    reversed                refused: a reversal is final

In every case the policy's budget is released (`policy_budget.reserved -= amount`), so others
may redeem it, and the redemption becomes `reversed`. A receivable is settled later by the payout
run, which offsets what the firm owes against its next payments. Flush only, audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import update
from sqlmodel import Session, col

from payouts.approval import check_reason
from payouts.errors import AlreadyReversed, PaymentInFlight
from payouts.redemptions import audited, live_item, locked, paid_item
from subsidy.audit import service as audit
from subsidy.ledger.models import Account
from subsidy.ledger.service import Move, post
from subsidy.redemption.models import PolicyBudget, Redemption, RedemptionStatus

REVERSE = "redemption.reverse"

_FROM: dict[RedemptionStatus, Account] = {
    RedemptionStatus.HELD: Account.RESERVED,
    RedemptionStatus.APPROVED: Account.PAYABLE,
    RedemptionStatus.RETURNED: Account.PAYABLE,
    RedemptionStatus.PAID: Account.PAID,
}


@dataclass(frozen=True)
class Reversal:
    redemption: Redemption
    source: Account
    target: Account
    amount: Decimal

    @property
    def clawback(self) -> bool:
        """The money had been paid: the firm owes it back."""
        return self.target == Account.RECEIVABLE


def reverse(session: Session, redemption_id: int, reason: str, *, by: str) -> Reversal:
    """Reverse the redemption as `by` (an actor, `officer:<subject>`) for `reason`."""
    reason = check_reason(reason)
    redemption = locked(session, redemption_id)
    status = RedemptionStatus(redemption.status)
    if status == RedemptionStatus.REVERSED:
        raise AlreadyReversed(redemption_id=redemption_id)
    item = live_item(session, redemption_id)
    if status == RedemptionStatus.PAYING or item is not None:
        raise PaymentInFlight(
            redemption_id=redemption_id, batch_id=item.batch_id if item else "(unknown)"
        )
    source = _FROM[status]
    target = Account.RECEIVABLE if source == Account.PAID else Account.BUDGET
    paid = paid_item(session, redemption_id) if source == Account.PAID else None
    assert redemption.id is not None
    before = audited(redemption)
    redemption.status = RedemptionStatus.REVERSED
    session.add(redemption)
    session.flush()
    post(
        session,
        [
            Move(
                redemption.policy_id,
                redemption.uscc,
                redemption.id,
                source,
                target,
                redemption.amount,
                "clawback" if target == Account.RECEIVABLE else "reverse",
                payout_item_id=paid.id if paid else None,
            )
        ],
    )
    _release_budget(session, redemption.policy_id, redemption.amount)
    audit.record(
        session,
        actor=by,
        action=REVERSE,
        subject=f"redemption:{redemption.id}",
        before=before,
        after=audited(redemption, reason=reason, moved=f"{source} -> {target}"),
    )
    return Reversal(redemption, source, target, redemption.amount)


def _release_budget(session: Session, policy_id: str, amount: Decimal) -> None:
    reserved = col(PolicyBudget.reserved)
    released = session.execute(
        update(PolicyBudget)
        .where(col(PolicyBudget.policy_id) == policy_id)
        .values(reserved=reserved - amount)
    )
    if released.rowcount != 1:  # type: ignore[attr-defined]
        raise AssertionError(f"policy {policy_id} has a redemption but no budget row")
