"""Why a payout operation was refused.

QinqingError
└── PayoutError
    ├── PayoutNotFound            no such redemption, flag or reconciliation exception
    │   └── UnknownBatch          no such payout batch
    ├── MakerChecker              the checker is the person who made the change to be checked
    ├── RedemptionStateError      the redemption's status does not allow this action
    │   ├── AlreadyReversed       a reversed redemption is final
    │   └── PaymentInFlight       it is in a batch being paid: wait for the batch to settle
    ├── AccountNotCorrected       a returned redemption released before its account was corrected
    ├── AlreadyResolved           the reconciliation exception was resolved before
    ├── InvalidPayoutInput        a USCC, account number or reason that cannot be used
    ├── RunInProgress             a payout run is queued or gathering: one at a time
    ├── NotWaiting                the firm has no approved redemption waiting for an account
    └── BatchesLeftOpen           a command gave up waiting for the workers to settle batches

The bank's own errors (`payouts.gateways.errors.BankError`, e.g. a statement file that cannot be
read) are a separate branch.
"""

from __future__ import annotations

from subsidy.errors import QinqingError


class PayoutError(QinqingError):
    pass


class PayoutNotFound(PayoutError):
    pass


class UnknownBatch(PayoutNotFound):
    pass


class MakerChecker(PayoutError):
    pass


class RedemptionStateError(PayoutError):
    pass


class AlreadyReversed(RedemptionStateError):
    pass


class PaymentInFlight(RedemptionStateError):
    pass


class AccountNotCorrected(PayoutError):
    pass


class AlreadyResolved(PayoutError):
    pass


class InvalidPayoutInput(PayoutError):
    pass


class RunInProgress(PayoutError):
    pass


class NotWaiting(PayoutError):
    pass


class BatchesLeftOpen(PayoutError):
    """`qinqing payouts run` (or the demo) waited --wait seconds on a broker and batches are
    still open: they stay queued; what to start, and how to look again."""

    def __init__(self, left: int, waited: float, broker: str, *, workers: int) -> None:
        self.left = left
        who = (
            f"{workers} Celery worker(s) answer but have not finished"
            if workers
            else "no Celery worker answers"
        )
        super().__init__(
            f"gave up waiting after {waited:g} s: {left:,} batches are still open and {who} on "
            f"{broker}. The batches stay queued and are paid once a worker runs: start "
            "`qinqing worker` (and one `qinqing beat` for the regular sweep) with the same "
            "QINQING_BROKER_URL and QINQING_DATABASE_URL, then run `qinqing payouts run` again "
            "(it settles what is open), with a longer --wait for a large run"
        )
