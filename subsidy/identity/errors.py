"""Why an OpenID provider's answer signs nobody in.

QinqingError
└── AuthenticationError   (subsidy.auth) no token, or a forged, expired or malformed one
    └── IdentityRefused   the provider's answer or token is not accepted; `code` says why
                          (`identity.<why>` in `errors.po`), the fields name the claim, the
                          group or the USCC, and the words say the way out. An API caller gets
                          401 with it, as for any other token refused
"""

from __future__ import annotations

from typing import ClassVar

from subsidy.auth import AuthenticationError


class IdentityRefused(AuthenticationError):
    """A sign-in through the provider, or a provider's token on the API, that is refused."""

    code = "identity.refused"
    variants: ClassVar[tuple[str, ...]] = (
        "identity.unavailable",
        "identity.no_login",
        "identity.state",
        "identity.provider_error",
        "identity.token",
        "identity.nonce",
        "identity.no_role",
        "identity.ambiguous_role",
        "identity.invalid_uscc",
        "identity.unregistered_uscc",
    )
