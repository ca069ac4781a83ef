"""Why a payout operation was refused.

QinqingError
└── PayoutError                   subsidy/redemption/errors.py: the base, and the refusals of a
    │                             change to a redemption, which that package owns
    ├── PayoutNotFound            no such redemption or flag; here also account, run, statement,
    │   │                         reconciliation exception (its variants)
    │   └── UnknownBatch          no such payout batch
    ├── MakerChecker              (redemption) the checker made the change to be checked
    ├── RedemptionStateError      (redemption) its status does not allow this action
    │   ├── AlreadyReversed       (redemption) a reversed redemption is final
    │   └── PaymentInFlight       (redemption) in a batch being paid: wait for it to settle
    ├── InvalidPayoutInput        (redemption) a USCC, account number, reason or statement that
    │                             cannot be used
    ├── AccountNotCorrected       a returned redemption released before its account was corrected
    ├── AlreadyResolved           the reconciliation exception was resolved before
    ├── RunInProgress             a payout run is queued or gathering: one at a time
    ├── NotWaiting                the firm has no approved redemption waiting for an account
    └── BatchesLeftOpen           a command gave up waiting for the workers to settle batches

Every class of the branch is importable from here. The bank's own errors
(`payouts.gateways.errors.BankError`, e.g. a statement file that cannot be read) are a separate
branch. Each class has its code (`payout.<what>`); `variants` are the other codes of its
instances (`payout.not_found.run`), words in `errors.po`; and its HTTP answer (`status`, `slug`,
`title`: 404 not found, 403 maker-checker, 422 bad input, 409 a state that does not allow it; a
class that declares none, 400 as QinqingError).
"""

from __future__ import annotations

from typing import ClassVar

from subsidy.redemption.errors import (
    AlreadyReversed,
    InvalidPayoutInput,
    MakerChecker,
    PaymentInFlight,
    PayoutError,
    PayoutNotFound,
    RedemptionStateError,
)

__all__ = [  # the branch's classes that the redemption declares, named here for payouts' callers
    "AccountNotCorrected",
    "AlreadyResolved",
    "AlreadyReversed",
    "BatchesLeftOpen",
    "InvalidPayoutInput",
    "MakerChecker",
    "NotWaiting",
    "PaymentInFlight",
    "PayoutError",
    "PayoutNotFound",
    "RedemptionStateError",
    "RunInProgress",
    "UnknownBatch",
]


class UnknownBatch(PayoutNotFound):
    code = "payout.not_found.batch"


class AccountNotCorrected(PayoutError):
    code = "payout.account_not_corrected"
    status, slug = 409, "account-not-corrected"
    title = "Correct the bank account before releasing the payment"


class AlreadyResolved(PayoutError):
    code = "payout.already_resolved"
    status, slug, title = 409, "already-resolved", "The exception is already resolved"


class RunInProgress(PayoutError):
    code = "payout.run_in_progress"
    status, slug, title = 409, "run-in-progress", "A payout run is still gathering"


class NotWaiting(PayoutError):
    code = "payout.not_waiting"
    status, slug, title = 409, "not-waiting", "Nothing waits for this"
    variants: ClassVar[tuple[str, ...]] = ("payout.account_confirmed",)


class BatchesLeftOpen(PayoutError):
    """`qinqing payouts run` (or the demo) waited --wait seconds on a broker and batches are
    still open: they stay queued; what to start, and how to look again."""

    code = "payout.batches_left_open"
    variants: ClassVar[tuple[str, ...]] = ("payout.batches_left_open.workers_busy",)

    def __init__(self, left: int, waited: float, broker: str, *, workers: int) -> None:
        self.left = left
        super().__init__(
            code="payout.batches_left_open.workers_busy" if workers else None,
            left=f"{left:,}",
            waited=f"{waited:g}",
            broker=broker,
            workers=workers,
        )
