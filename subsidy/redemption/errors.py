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
"""

from __future__ import annotations

from typing import Any

from subsidy.errors import QinqingError


class RedemptionError(QinqingError):
    pass


class UnknownPolicy(RedemptionError):
    pass


class NotRedeemable(RedemptionError):
    pass


class NotEligible(RedemptionError):
    def __init__(self, message: str, explanation: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.explanation = explanation or []


class AlreadyRedeemed(RedemptionError):
    pass


class GroupConflict(RedemptionError):
    pass


class BudgetExhausted(RedemptionError):
    pass


class KeyReused(RedemptionError):
    pass
