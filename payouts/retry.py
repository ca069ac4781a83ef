"""A returned payment paid again: finance corrects the account, another finance user releases it.

The bank refused or sent back the payment of a `returned` redemption; its money is payable again.
One finance user corrects the account (`Redemption.account_override`, which the payout run uses
instead of the registry's; that user becomes the redemption's maker, `changed_by`), and another
releases it: returned -> approved. The next payout run gathers it into a new payout item, with a
new idempotency key. A release is refused until the account differs from the one the bank last
returned, so a retry never goes back to the account that just failed. Flush only, audited, the
account masked in the audit trail.
"""

from __future__ import annotations

from sqlmodel import Session

from payouts.banks import ACCOUNT
from payouts.errors import (
    AccountNotCorrected,
    InvalidPayoutInput,
    PaymentInFlight,
    RedemptionStateError,
)
from payouts.redemptions import (
    audited,
    check_not_maker,
    latest_returned_item,
    live_item,
    locked,
)
from subsidy.audit import service as audit
from subsidy.errors import Term
from subsidy.masking import mask
from subsidy.redemption.models import Redemption, RedemptionStatus

CORRECT = "redemption.correct_account"
RELEASE = "redemption.release"


def correct_account(session: Session, redemption_id: int, account: str, *, by: str) -> Redemption:
    """Set the account a returned redemption is paid to next; `by` becomes its maker."""
    account = "".join(account.split())
    if not ACCOUNT.fullmatch(account):
        raise InvalidPayoutInput(code="payout.bad_account", account=mask(account))
    redemption = _returned(session, redemption_id, "corrected")
    before = audited(redemption)
    redemption.account_override = account
    redemption.changed_by = by
    session.add(redemption)
    session.flush()
    audit.record(
        session,
        actor=by,
        action=CORRECT,
        subject=f"redemption:{redemption_id}",
        before=before,
        after=audited(redemption),
    )
    return redemption


def release(session: Session, redemption_id: int, *, by: str) -> Redemption:
    """returned -> approved, by a finance user other than the one who corrected the account."""
    redemption = _returned(session, redemption_id, "released")
    if live_item(session, redemption_id) is not None:
        raise PaymentInFlight(code="payout.in_batch", redemption_id=redemption_id)
    returned = latest_returned_item(session, redemption_id)
    if redemption.account_override is None or (
        returned is not None and returned.account == redemption.account_override
    ):
        raise AccountNotCorrected(redemption_id=redemption_id)
    check_not_maker(redemption, by, "release")
    before = audited(redemption)
    redemption.status = RedemptionStatus.APPROVED
    session.add(redemption)
    session.flush()
    audit.record(
        session,
        actor=by,
        action=RELEASE,
        subject=f"redemption:{redemption_id}",
        before=before,
        after=audited(redemption),
    )
    return redemption


def _returned(session: Session, redemption_id: int, done: str) -> Redemption:
    redemption = locked(session, redemption_id)
    if redemption.status != RedemptionStatus.RETURNED:
        raise RedemptionStateError(
            code="payout.not_returned",
            redemption_id=redemption_id,
            status=redemption.status,
            done=Term(f"error_word.{done}"),
        )
    return redemption
