"""Request dependencies: the caller (from the bearer token: the OpenID provider's access token,
or a locally minted one where those are accepted, `subsidy.identity.bearer`), role checks, the
unit of work."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from subsidy.api.problems import Forbidden
from subsidy.auth import AuthenticationError, Principal, Role
from subsidy.db import session_scope
from subsidy.identity.bearer import principal_of
from subsidy.settings import get_settings

_bearer = HTTPBearer(auto_error=False)


async def caller_if_any(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """The caller when a valid bearer token is sent, else None (never raises): for what treats
    anonymous callers differently instead of refusing them (the rate limits). Async: checking a
    signature needs no thread from the pool admission sizes."""
    if credentials is None:
        return None
    try:  # never waits on the provider: only its keys already cached are used
        return principal_of(get_settings(), credentials.credentials, fetch=False)
    except AuthenticationError:
        return None


def unit_of_work() -> Iterator[Session]:
    """The request's session: it commits once the endpoint returns (services only flush)."""
    with session_scope() as session:
        yield session


# scope="function": commit when the endpoint returns, before the answer is sent. With the
# default ("request") FastAPI would send a 201 first and commit after, so a failing commit
# would leave the client told of a redemption that does not exist.
DbSession = Annotated[Session, Depends(unit_of_work, scope="function")]


def caller(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session: DbSession,
) -> Principal:
    """The bearer token's principal; a provider's firm user must be in the registry (the
    request's own session reads it: a primary-key look-up, and only for such tokens)."""
    if credentials is None:
        raise AuthenticationError(code="auth.missing")
    return principal_of(get_settings(), credentials.credentials, session)


def allow(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting only `roles`; every endpoint declares its roles with it."""

    def admitted(principal: Annotated[Principal, Depends(caller)]) -> Principal:
        if principal.role not in roles:
            raise Forbidden(code="api.forbidden.role", fields={"role": principal.role})
        return principal

    admitted.roles = roles  # type: ignore[attr-defined]  # read by the role-matrix test
    return admitted
