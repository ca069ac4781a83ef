"""Why a redemption was refused (the API answers each with its own problem type).

QinqingError
└── RedemptionError
    ├── UnknownPolicy        no such policy, or none published
    ├── NotRedeemable        the policy is suspended or closed, or outside its validity window
    ├── NotEligible          the firm does not qualify on the current registry (`.explanation`)
    ├── AlreadyRedeemed      this firm has redeemed this policy
    ├── GroupConflict        this firm holds a redemption of the policy's exclusivity group
    ├── BudgetExhausted      the policy's budget cannot cover this amount
    └── KeyReused            the idempotency key was used for another request

Each has its code (`redemption.<what>`) and words in `errors.po`, filled from its fields.
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
