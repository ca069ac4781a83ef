"""Why a sign-in code or a session no longer signs anyone in.

QinqingError
└── SignInRefused         `.reason` is one of the reasons, worded for the sign-in form
                          (`signin.<reason>` in `errors.po`)
"""

from __future__ import annotations

from typing import Literal

from subsidy.errors import QinqingError

Reason = Literal["unknown", "used", "expired", "revoked", "idle"]


class SignInRefused(QinqingError):
    """A code or a session that does not sign in: unknown, used, expired, revoked, idle.
    `session=True` words it for a session rather than a sign-in code."""

    code = "signin.unknown"
    status, slug, title = 401, "sign-in-refused", "The sign-in was refused"
    variants = (
        "signin.used",
        "signin.expired",
        "signin.revoked",
        "signin.idle",
        "signin.session_unknown",
        "signin.session_expired",
    )

    def __init__(self, reason: Reason, *, session: bool = False) -> None:
        code = f"signin.session_{reason}" if session else f"signin.{reason}"
        super().__init__(code=code)
        self.reason = reason
