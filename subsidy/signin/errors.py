"""Why a sign-in code or a session no longer signs anyone in.

QinqingError
└── SignInRefused         `.reason` is one of REASONS, worded for the sign-in form
"""

from __future__ import annotations

from typing import Literal

from subsidy.errors import QinqingError

Reason = Literal["unknown", "used", "expired", "revoked", "idle"]

MESSAGES: dict[Reason, str] = {
    "unknown": "this sign-in code does not exist; ask for a new sign-in link",
    "used": "this sign-in code has already been used (a code signs in once); ask for a new link",
    "expired": "this sign-in code has expired; ask for a new sign-in link",
    "revoked": "you signed out of this session; sign in again",
    "idle": "the session ended after a time without use; sign in again",
}


class SignInRefused(QinqingError):
    """A code or a session that does not sign in: unknown, used, expired, revoked, idle."""

    def __init__(self, reason: Reason, message: str | None = None) -> None:
        super().__init__(message or MESSAGES[reason])
        self.reason = reason
