"""Who is using the portal: the same signed token as the API, kept in a cookie by the sign-in form.

- The cookie holds the bearer token itself (HttpOnly, SameSite=Strict, Secure over HTTPS, path /,
  no longer than the token lives); `subsidy.auth.verify` turns it into the same `Principal` the
  API's `caller` gives, so pages and API agree on who and which role.
- `allow_page(*roles)` is the pages' `allow`: every page route declares its roles with it, and a
  test walks every page route with every role. Not signed in: to the sign-in form; wrong role: 403.
- CSRF: every POST must carry a token derived from the session (HMAC-SHA256 of the cookie's token
  under the secret key) in the `csrf` form field or the `X-CSRF-Token` header (htmx sends the
  header, set once on <body>); a POST whose `Origin` names another site is refused too. With the
  cookie SameSite=Strict that is three locks; the token alone would suffice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

import jwt
from fastapi import Depends, Request

from subsidy.api import ratelimit
from subsidy.api.problems import RateLimited
from subsidy.auth import AuthenticationError, Principal, Role, mint, verify
from subsidy.settings import get_settings

COOKIE = "qinqing_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"


class SignInRequired(Exception):  # a signal to the handler, not an error to report
    """No session cookie, or one whose token no longer verifies: answered with the sign-in form."""

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


def session_token(request: Request) -> str | None:
    return request.cookies.get(COOKIE)


def signed_in(request: Request) -> Principal | None:
    """The caller if the cookie holds a valid token, else None (never raises)."""
    token = session_token(request)
    if not token:
        return None
    try:
        return verify(get_settings(), token)
    except AuthenticationError:
        return None


def principal(request: Request) -> Principal:
    token = session_token(request)
    if not token:
        raise SignInRequired()
    try:
        return verify(get_settings(), token)
    except AuthenticationError as exc:
        raise SignInRequired(str(exc)) from exc


def allow_page(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting only `roles`; every page route declares its roles with it."""

    def admitted(me: Annotated[Principal, Depends(principal)]) -> Principal:
        if me.role not in roles:
            raise PageForbidden(f"the {me.role} role may not use this page")
        return me

    admitted.roles = roles  # type: ignore[attr-defined]  # read by the page role test
    return admitted


def page_rate_limited(limit: ratelimit.Limit) -> Callable[[Request], Awaitable[None]]:
    """The pages' `rate_limited`: the same buckets as the API, keyed by the session's user."""

    async def limited(request: Request) -> None:
        try:
            await ratelimit.check(request, limit, signed_in(request))
        except RateLimited as exc:
            raise PageRateLimited(exc.retry_after) from exc

    return limited


def csrf_token(token: str) -> str:
    """The CSRF token of a session: HMAC of its bearer token under the secret key."""
    key = get_settings().secret_key.get_secret_value().encode()
    return hmac.new(key, b"csrf:" + token.encode(), hashlib.sha256).hexdigest()


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
    token = session_token(request)
    if not token or not same_origin(request):
        raise CsrfRefused()
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()  # Starlette keeps it: the handler's Form fields read it again
        field = form.get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    if sent is None or not hmac.compare_digest(sent, csrf_token(token)):
        raise CsrfRefused()


def cookie_lifetime(token: str) -> int:
    """Seconds the cookie may live: until the token expires (verify has read `exp`)."""
    claims = jwt.decode(token, options={"verify_signature": False})
    left = int(claims["exp"]) - int(dt.datetime.now(dt.UTC).timestamp())
    return max(left, 0)


def sign_in_links(base_url: str, firm: str | None) -> dict[str, str]:
    """A sign-in link per role (the form filled in with a fresh token), for the demo."""
    settings = get_settings()
    links = {}
    for role in Role:
        if role is Role.ENTERPRISE and firm is None:
            continue
        uscc = firm if role is Role.ENTERPRISE else None
        token = mint(settings, role, subject=f"demo-{role}", uscc=uscc)
        links[str(role)] = f"{base_url}/sign-in?token={token}"
    return links
