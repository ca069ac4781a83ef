"""Who is using the portal: a server-side session (`subsidy.signin`) named by a cookie.

- The cookie holds a random session id (HttpOnly, SameSite=Strict, Secure over HTTPS, path /,
  no longer than the session lives); the `portal_session` row it names holds the principal, the
  same `Principal` the API's `caller` gives, so pages and API agree on who and which role. The
  database keeps only the id's hash. Sign-out revokes the row: the old cookie, replayed, gets
  the sign-in form. A session also ends QINQING_SESSION_HOURS after sign-in and after
  QINQING_SESSION_IDLE_MINUTES unused.
- `allow_page(*roles)` is the pages' `allow`: every page route declares its roles with it, and a
  test walks every page route with every role. Not signed in: to the sign-in form; wrong role: 403.
- CSRF: every POST must carry a token derived from the session (HMAC-SHA256 of the session id
  under the secret key) in the `csrf` form field or the `X-CSRF-Token` header (htmx sends the
  header, set once on <body>); a POST whose `Origin` names another site is refused too. With the
  cookie SameSite=Strict that is three locks; the token alone would suffice.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from subsidy.api import ratelimit
from subsidy.api.problems import RateLimited
from subsidy.api.security import DbSession
from subsidy.auth import Principal, Role
from subsidy.registry.models import Enterprise
from subsidy.settings import get_settings
from subsidy.signin import service as signin
from subsidy.signin.errors import SignInRefused

COOKIE = "qinqing_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"


class SignInRequired(Exception):  # a signal to the handler, not an error to report
    """No session cookie, or one whose session has ended: answered with the sign-in form."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "")
        self.reason = reason


class PageForbidden(Exception):
    """The role may not use this page: answered 403 with a page saying so."""


class CsrfRefused(Exception):
    """A POST without the session's CSRF token, or from another origin: answered 403."""


class PageRateLimited(Exception):
    """The signed-in user (else the address) used up a rate limit: a page saying when to retry."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


def session_id(request: Request) -> str | None:
    return request.cookies.get(COOKIE) or None


def resumed(request: Request, session: Session) -> Principal | None:
    """The caller if the cookie names a live session, else None (never raises). The request
    remembers it for the page's header and CSRF token (`signed_in`, `page_csrf`)."""
    known = session_id(request)
    if known is None:
        return None
    try:
        me = signin.resume(session, get_settings(), known)
    except SignInRefused:
        return None
    request.state.principal, request.state.session_id = me, known
    if me.uscc is not None:  # the header names the firm by its name (one primary-key read)
        firm = session.get(Enterprise, me.uscc)
        request.state.firm_name = firm.name if firm is not None else None
    return me


def principal(request: Request, session: DbSession) -> Principal:
    if session_id(request) is None:
        raise SignInRequired()
    me = resumed(request, session)
    if me is None:
        raise SignInRequired("the session has ended")
    return me


def signed_in(request: Request) -> Principal | None:
    """Who this request's session is, once a dependency has resumed it (else None)."""
    found: Principal | None = getattr(request.state, "principal", None)
    return found


def firm_name(request: Request) -> str | None:
    """The signed-in firm's registered name (None for other roles or an unregistered firm)."""
    found: str | None = getattr(request.state, "firm_name", None)
    return found


def page_csrf(request: Request) -> str:
    """The CSRF token forms of this page carry; empty when nobody is signed in."""
    known: str | None = getattr(request.state, "session_id", None)
    return csrf_token(known) if known else ""


def allow_page(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting only `roles`; every page route declares its roles with it."""

    def admitted(me: Annotated[Principal, Depends(principal)]) -> Principal:
        if me.role not in roles:
            raise PageForbidden(f"the {me.role} role may not use this page")
        return me

    admitted.roles = roles  # type: ignore[attr-defined]  # read by the page role test
    return admitted


def page_rate_limited(limit: ratelimit.Limit) -> Callable[..., Awaitable[None]]:
    """The pages' `rate_limited`: the same buckets as the API, keyed by the signed-in user (the
    page's own `allow_page` resolves the same `principal`, once per request)."""

    async def limited(request: Request, me: Annotated[Principal, Depends(principal)]) -> None:
        try:
            await ratelimit.check(request, limit, me)
        except RateLimited as exc:
            raise PageRateLimited(exc.retry_after) from exc

    return limited


def csrf_token(session_id: str) -> str:
    """The CSRF token of a session: HMAC of its id under the secret key."""
    key = get_settings().secret_key.get_secret_value().encode()
    return hmac.new(key, b"csrf:" + session_id.encode(), hashlib.sha256).hexdigest()


def same_origin(request: Request) -> bool:
    """False only when the browser says the request came from another origin."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    own = f"{request.url.scheme}://{request.url.netloc}"
    return origin == own


async def csrf_checked(
    request: Request, _signed_in: Annotated[Principal, Depends(principal)]
) -> None:
    """For every POST a signed-in user makes: the session's CSRF token and no foreign Origin.
    (Not signed in: to the sign-in form first.)"""
    expected = page_csrf(request)
    if not expected or not same_origin(request):
        raise CsrfRefused()
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()  # Starlette keeps it: the handler's Form fields read it again
        field = form.get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    if sent is None or not hmac.compare_digest(sent, expected):
        raise CsrfRefused()
