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


class UnknownPolicy(RedemptionError):
    code = "redemption.unknown_policy"


class NotRedeemable(RedemptionError):
    code = "redemption.not_redeemable"  # {policy_id} {state}
    variants = ("redemption.not_yet_valid", "redemption.expired")
    states: ClassVar[Mapping[str, str]] = {"state": "policy"}


class NotEligible(RedemptionError):
    code = "redemption.not_eligible"
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


class AlreadyRedeemed(RedemptionError):
    code = "redemption.already_redeemed"


class GroupConflict(RedemptionError):
    code = "redemption.group_conflict"


class BudgetExhausted(RedemptionError):
    code = "redemption.budget_exhausted"


class KeyReused(RedemptionError):
    code = "redemption.key_reused"
    variants = ("redemption.key_in_progress",)
