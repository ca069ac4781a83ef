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
read) are a separate branch. Each class has its code (`payout.<what>`); `variants` are the
other codes of its instances (`payout.not_found.run`), words in `errors.po`; and its HTTP answer
(`status`, `slug`, `title`: 404 not found, 403 maker-checker, 422 bad input, 409 a state that
does not allow it; a class that declares none, 400 as QinqingError).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from subsidy.errors import QinqingError


class PayoutError(QinqingError):
    code = "payout.refused"


class PayoutNotFound(PayoutError):
    code = "payout.not_found.redemption"
    status, slug, title = 404, "not-found", "Not found"
    variants: ClassVar[tuple[str, ...]] = (
        "payout.not_found.account",
        "payout.not_found.exception",
        "payout.not_found.statement",
        "payout.not_found.run",
        "payout.not_found.flag",
    )


class UnknownBatch(PayoutNotFound):
    code = "payout.not_found.batch"


class MakerChecker(PayoutError):
    code = "payout.maker_checker"
    status, slug, title = 403, "maker-checker", "Whoever made the change cannot check it"
    variants: ClassVar[tuple[str, ...]] = ("payout.maker_checker.account",)


class RedemptionStateError(PayoutError):
    code = "payout.not_held"
    status, slug, title = 409, "redemption-state", "The redemption's status does not allow this"
    variants: ClassVar[tuple[str, ...]] = ("payout.not_returned", "payout.receipt_not_paid")
    states: ClassVar[Mapping[str, str]] = {"status": "redemption"}


class AlreadyReversed(RedemptionStateError):
    code = "payout.already_reversed"
    status, slug, title = 409, "already-reversed", "The redemption is already reversed"


class PaymentInFlight(RedemptionStateError):
    code = "payout.being_paid"
    status, slug = 409, "payment-in-flight"
    title = "The redemption is being paid; wait for the batch to settle"
    variants: ClassVar[tuple[str, ...]] = ("payout.in_batch",)


class AccountNotCorrected(PayoutError):
    code = "payout.account_not_corrected"
    status, slug = 409, "account-not-corrected"
    title = "Correct the bank account before releasing the payment"


class AlreadyResolved(PayoutError):
    code = "payout.already_resolved"
    status, slug, title = 409, "already-resolved", "The exception is already resolved"


class InvalidPayoutInput(PayoutError):
    code = "payout.bad_uscc"
    status, slug, title = 422, "invalid-input", "The input cannot be used"
    variants: ClassVar[tuple[str, ...]] = (
        "payout.bad_account",
        "payout.reason_missing",
        "payout.reason_too_long",
        "payout.statement_format",
    )


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
