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
    └── NotWaiting                the firm has no approved redemption waiting for an account

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
