"""A returned payment paid again: finance corrects the account, another finance user releases it.

The bank refused or sent back the payment of a `returned` redemption; its money is payable again.
One finance user corrects the account (`Redemption.account_override`, which the payout run uses
instead of the registry's; that user becomes the redemption's maker, `changed_by`), and another
releases it: returned -> approved. The next payout run gathers it into a new payout item, with a
new idempotency key. A release is refused until the account differs from the one the bank last
returned, so a retry never goes back to the account that just failed. Flush only, audited, the
account masked in the audit trail. The changes themselves are the redemption's
(`subsidy.redemption.payment`); what is checked here is what the payout items say.
"""

from __future__ import annotations

from sqlmodel import Session

from payouts.banks import ACCOUNT
from payouts.errors import AccountNotCorrected, InvalidPayoutInput, PaymentInFlight
from payouts.redemptions import latest_returned_item, live_item
from subsidy.masking import mask
from subsidy.redemption import payment
from subsidy.redemption.changes import audited_change, check_not_maker
from subsidy.redemption.models import Redemption

CORRECT = "redemption.correct_account"
RELEASE = "redemption.release"


def correct_account(session: Session, redemption_id: int, account: str, *, by: str) -> Redemption:
    """Set the account a returned redemption is paid to next; `by` becomes its maker."""
    account = "".join(account.split())
    if not ACCOUNT.fullmatch(account):
        raise InvalidPayoutInput(code="payout.bad_account", account=mask(account))
    with audited_change(session, redemption_id, by=by, action=CORRECT) as change:
        payment.redirect(change, account, by=by)
    return change.redemption


def release(session: Session, redemption_id: int, *, by: str) -> Redemption:
    """returned -> approved, by a finance user other than the one who corrected the account."""
    with audited_change(session, redemption_id, by=by, action=RELEASE) as change:
        redemption = payment.returned(change.redemption, "released")
        if live_item(session, redemption_id) is not None:
            raise PaymentInFlight(code="payout.in_batch", redemption_id=redemption_id)
        came_back = latest_returned_item(session, redemption_id)
        if redemption.account_override is None or (
            came_back is not None and came_back.account == redemption.account_override
        ):
            raise AccountNotCorrected(redemption_id=redemption_id)
        check_not_maker(redemption, by, "release")
        payment.release(change)
    return redemption
