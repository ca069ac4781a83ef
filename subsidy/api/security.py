"""Request dependencies: the caller (from the bearer token), role checks, the unit of work."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from subsidy.api.problems import Forbidden
from subsidy.auth import AuthenticationError, Principal, Role, verify
from subsidy.db import session_scope
from subsidy.settings import get_settings

_bearer = HTTPBearer(auto_error=False)


def caller(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise AuthenticationError(code="auth.missing")
    return verify(get_settings(), credentials.credentials)


async def caller_if_any(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """The caller when a valid bearer token is sent, else None (never raises): for what treats
    anonymous callers differently instead of refusing them (the rate limits). Async: checking a
    signature needs no thread from the pool admission sizes."""
    if credentials is None:
        return None
    try:
        return verify(get_settings(), credentials.credentials)
    except AuthenticationError:
        return None


def allow(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting only `roles`; every endpoint declares its roles with it."""

    def admitted(principal: Annotated[Principal, Depends(caller)]) -> Principal:
        if principal.role not in roles:
            raise Forbidden(code="api.forbidden.role", fields={"role": principal.role})
        return principal

    admitted.roles = roles  # type: ignore[attr-defined]  # read by the role-matrix test
    return admitted


def unit_of_work() -> Iterator[Session]:
    """The request's session: it commits once the endpoint returns (services only flush)."""
    with session_scope() as session:
        yield session


# scope="function": commit when the endpoint returns, before the answer is sent. With the
# default ("request") FastAPI would send a 201 first and commit after, so a failing commit
# would leave the client told of a redemption that does not exist.
DbSession = Annotated[Session, Depends(unit_of_work, scope="function")]
