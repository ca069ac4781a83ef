"""A made redemption on its way to the firm: every change of status or payee after it is made.

    held ──approve──> approved ──run──> paying ──bank──> paid
                         ^                 │
                      release           returned ──correct the account──> (changed_by = finance)
                         └─────────────────┘
    held, approved, returned, paid ──reverse──> reversed (final; the budget released)

The payouts decide when (a run gathers approved ones, the bank's answers settle them, an officer
reverses, finance retries a return) and call here for the change; what needs their payout items
(is it in a batch, which item paid it, which account was returned) they check before calling, in
the `audited_change` block that holds the row. This module and `approval` are the only writers
of `redemption.status`, `redemption.changed_by`, `redemption.account_override` and
`policy_budget` after the redemption is made (tests/architecture/test_ownership.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from subsidy.errors import Term
from subsidy.ledger.models import Account
from subsidy.ledger.service import Move, post
from subsidy.redemption import repository
from subsidy.redemption.changes import Change
from subsidy.redemption.errors import AlreadyReversed, PaymentInFlight, RedemptionStateError
from subsidy.redemption.models import Redemption, RedemptionStatus

_REVERSED_FROM: dict[RedemptionStatus, Account] = {
    RedemptionStatus.HELD: Account.RESERVED,  # never approved
    RedemptionStatus.APPROVED: Account.PAYABLE,  # owed, not paid
    RedemptionStatus.RETURNED: Account.PAYABLE,
    RedemptionStatus.PAID: Account.PAID,  # the firm now owes it back: a clawback
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


def reversible(redemption: Redemption, *, batch_id: int | None) -> RedemptionStatus:
    """Its status, if it may be reversed: never twice, never while a batch (`batch_id`, the
    one holding its live payout item, if any) may be paying it."""
    status = RedemptionStatus(redemption.status)
    if status == RedemptionStatus.REVERSED:
        raise AlreadyReversed(redemption_id=redemption.id)
    if status == RedemptionStatus.PAYING or batch_id is not None:
        raise PaymentInFlight(
            redemption_id=redemption.id, batch_id=batch_id if batch_id is not None else "(unknown)"
        )
    return status


def reverse(
    session: Session, change: Change, *, reason: str, batch_id: int | None, paid_by: int | None
) -> Reversal:
    """-> reversed: its money back where it came from (a clawback when it was paid, by the
    payout item `paid_by`), the policy's budget released for others to redeem."""
    redemption = change.redemption
    source = _REVERSED_FROM[reversible(redemption, batch_id=batch_id)]
    target = Account.RECEIVABLE if source == Account.PAID else Account.BUDGET
    assert redemption.id is not None
    redemption.status = RedemptionStatus.REVERSED
    move = Move(
        redemption.policy_id,
        redemption.uscc,
        redemption.id,
        source,
        target,
        redemption.amount,
        "clawback" if target == Account.RECEIVABLE else "reverse",
        payout_item_id=paid_by,
    )
    post(session, [move])
    repository.release(session, redemption.policy_id, redemption.amount)
    change.note(reason=reason, moved=f"{source} -> {target}")
    return Reversal(redemption, source, target, redemption.amount)


def returned(redemption: Redemption, done: str) -> Redemption:
    """The redemption, if it is `returned` (what finance corrects and releases)."""
    if redemption.status != RedemptionStatus.RETURNED:
        raise RedemptionStateError(
            code="payout.not_returned",
            redemption_id=redemption.id,
            status=redemption.status,
            done=Term(f"error_word.{done}"),
        )
    return redemption


def redirect(change: Change, account: str, *, by: str) -> None:
    """A returned redemption paid next to `account`; `by` becomes its maker (maker-checker)."""
    redemption = returned(change.redemption, "corrected")
    redemption.account_override = account
    redemption.changed_by = by


def release(change: Change) -> None:
    """returned -> approved: the next payout run gathers it again."""
    returned(change.redemption, "released").status = RedemptionStatus.APPROVED


def paying(session: Session, redemption_ids: Any) -> None:
    """approved -> paying, each of `redemption_ids` (a subquery of ids: a run's new items)."""
    repository.mark_paying(session, redemption_ids)


def paid(session: Session, redemption_ids: Sequence[int]) -> None:
    """-> paid: the bank paid these (many at once; their items' audit entries say so)."""
    repository.set_status(session, redemption_ids, RedemptionStatus.PAID)


def came_back(session: Session, redemption_ids: Sequence[int]) -> None:
    """-> returned: the bank refused or sent back these payments; finance corrects them."""
    repository.set_status(session, redemption_ids, RedemptionStatus.RETURNED)
