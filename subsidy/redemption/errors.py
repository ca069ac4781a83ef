"""Why a redemption, or a change to one, was refused (the API answers each with its own type).

QinqingError
├── RedemptionError
    ├── UnknownPolicy        no such policy, or none published
    ├── NotRedeemable        the policy is suspended or closed, or outside its validity window
    ├── NotEligible          the firm does not qualify on the current registry (`.explanation`)
    ├── AlreadyRedeemed      this firm has redeemed this policy
    ├── GroupConflict        this firm holds a redemption of the policy's exclusivity group
    ├── BudgetExhausted      the policy's budget cannot cover this amount
│   └── KeyReused            the idempotency key was used for another request
└── PayoutError              a made redemption's way to its payment refused: approval, flags,
    │                        reversal, retry, payment (codes `payout.<what>`, as the API has
    │                        always answered them; `payouts.errors` adds the batches' and the
    │                        reconciliation's own refusals under it)
    ├── PayoutNotFound       no such redemption or flag (payouts: account, run, statement, ...)
    ├── MakerChecker         the checker is the person who made the change to be checked
    ├── RedemptionStateError the redemption's status does not allow this action
    │   ├── AlreadyReversed  a reversed redemption is final
    │   └── PaymentInFlight  it is in a batch being paid: wait for the batch to settle
    └── InvalidPayoutInput   a USCC, account number or reason that cannot be used

The second branch lives here because this package owns every change of a redemption
(`subsidy.redemption.changes`); its classes keep the names and codes clients already know.
Each has its code and words in `errors.po`, filled from its fields; `variants` are the other
codes of its instances (`payout.not_found.flag`), some raised by payouts through these classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from subsidy.errors import QinqingError


class RedemptionError(QinqingError):
    code = "redemption.refused"
    status, slug, title = 409, "redemption-refused", "The redemption is refused"


class UnknownPolicy(RedemptionError):
    code = "redemption.unknown_policy"
    status, slug, title = 404, "unknown-policy", "No such policy"


class NotRedeemable(RedemptionError):
    code = "redemption.not_redeemable"  # {policy_id} {state}
    status, slug, title = 409, "not-redeemable", "The policy cannot be redeemed now"
    variants = ("redemption.not_yet_valid", "redemption.expired")
    states: ClassVar[Mapping[str, str]] = {"state": "policy"}


class NotEligible(RedemptionError):
    code = "redemption.not_eligible"
    status, slug, title = 422, "not-eligible", "The firm does not qualify"
    variants = ("redemption.not_registered", "redemption.not_checked")

    def __init__(
        self,
        *,
        code: str | None = None,
        explanation: list[dict[str, Any]] | None = None,
        **fields: object,
    ) -> None:
        super().__init__(code=code, **fields)
        self.explanation = explanation or []

    def extra(self) -> dict[str, object]:
        return {"explanation": self.explanation}


class AlreadyRedeemed(RedemptionError):
    code = "redemption.already_redeemed"
    status, slug, title = 409, "already-redeemed", "Already redeemed"


class GroupConflict(RedemptionError):
    code = "redemption.group_conflict"
    status, slug, title = 409, "group-conflict", "A subsidy of the same group is held"


class BudgetExhausted(RedemptionError):
    code = "redemption.budget_exhausted"
    status, slug, title = 409, "budget-exhausted", "The policy's budget is exhausted"


class KeyReused(RedemptionError):
    code = "redemption.key_reused"
    status, slug, title = 409, "idempotency-key-reused", "Idempotency key already used"
    variants = ("redemption.key_in_progress",)


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


class InvalidPayoutInput(PayoutError):
    code = "payout.bad_uscc"
    status, slug, title = 422, "invalid-input", "The input cannot be used"
    variants: ClassVar[tuple[str, ...]] = (
        "payout.bad_account",
        "payout.reason_missing",
        "payout.reason_too_long",
        "payout.statement_format",
    )
