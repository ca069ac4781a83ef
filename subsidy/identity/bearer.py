"""A bearer token on the API -> the caller: the provider's JWT access tokens, and locally minted
HS256 tokens where they are accepted (`Settings.local_sign_in`: always in development; elsewhere
only while no provider is configured)."""

from __future__ import annotations

from joserfc import jws
from joserfc.errors import JoseError
from sqlmodel import Session

from subsidy.auth import ALGORITHM, AuthenticationError, Principal, verify
from subsidy.identity.claims import check_registered, identity_from
from subsidy.identity.provider import provider_for
from subsidy.settings import Settings


def principal_of(
    settings: Settings, token: str, session: Session | None = None, *, fetch: bool = True
) -> Principal:
    """Who a bearer token speaks for. A provider's token is checked against its JWKS, then its
    claims mapped as at sign-in (with `session`, a firm's USCC must be in the registry);
    `fetch=False` never waits on the provider (only the keys already cached are used)."""
    if settings.oidc_enabled and _algorithm(token) != ALGORITHM:
        claims = provider_for(settings).verify_access_token(token, fetch=fetch)
        identity = identity_from(settings, claims)
        if session is not None:
            check_registered(session, identity)
        return identity.principal
    if not settings.local_sign_in:
        raise AuthenticationError(code="auth.local_refused")
    return verify(settings, token)


def _algorithm(token: str) -> object:
    try:
        return jws.extract_compact(token.encode()).protected.get("alg")
    except (JoseError, ValueError):
        return None
