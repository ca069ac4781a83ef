"""The way in and out, for everyone: home (to the signed-in role's first page), the sign-in form
(a one-time code, a pasted token, or the OpenID Connect provider and its callback), sign-out and
the language switch. The only pages without roles (`PUBLIC`).

A refused sign-in is a `PageRefusal`: the request's unit of work rolls back whatever the refused
attempt flushed, and the form says why.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from subsidy.api.security import DbSession
from subsidy.auth import AuthenticationError, Principal
from subsidy.db import utcnow
from subsidy.identity.errors import IdentityRefused
from subsidy.settings import Settings, get_settings
from subsidy.signin import service as signin
from subsidy.signin.errors import SignInRefused
from subsidy.signin.oidc import CALLBACK_PATH, LOGIN_COOKIE, LOGIN_PATH, OidcProvider
from subsidy.signin.providers import IdentityProvider
from subsidy.web import i18n
from subsidy.web.session import COOKIE, resumed, same_origin, session_id
from subsidy.web.shared import Csrf, PageRefusal, back
from subsidy.web.templating import HOME, language, render

router = APIRouter(include_in_schema=False)

PUBLIC = frozenset({"/", "/sign-in", "/sign-out", "/lang/{code}", LOGIN_PATH, CALLBACK_PATH})
"""The routes anyone may open (the role test checks every other declares its roles)."""


LOGOUT_COOKIE = "qinqing_sign_out_hint"
"""What the provider's sign-out needs (the ID token as `id_token_hint`): HttpOnly, SameSite
Strict, sent only to /sign-out."""


def identity_provider(settings: Settings) -> IdentityProvider | None:
    """The configured provider of identities (OpenID Connect), or None. A provincial ticket SSO
    would be chosen here by its own settings (`subsidy/signin/providers.py`)."""
    return OidcProvider(settings) if settings.oidc_enabled else None


def _local(path: str | None, default: str) -> str:
    """A path on this site only (never `//elsewhere` or `https://...`)."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return default


@router.get("/")
def home(request: Request, session: DbSession) -> Response:
    me = resumed(request, session)
    return back(HOME[me.role] if me else "/sign-in")


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, session: DbSession, code: str | None = None) -> HTMLResponse:
    """The sign-in form. `?code=` (a sign-in link) names whom the one-time code signs in and
    asks for the click that uses it (so a link previewer fetching it uses nothing); a code that
    is used or expired shows the form with the reason. Tokens never travel in a URL: a link
    carrying one is refused, and the form takes a pasted token by POST only."""
    if "token" in request.query_params:
        return _sign_in_page(request, reason="signin.token_in_link", status=400)
    if not code:
        return _sign_in_page(request)
    if not get_settings().local_sign_in:
        return _sign_in_page(request, reason="signin.local_off", status=403)
    try:
        who = signin.peek_code(session, code)
    except SignInRefused as exc:
        return _sign_in_page(request, reason=f"signin.{exc.reason}", status=400)
    return _sign_in_page(request, code=code, who=who)


@router.post("/sign-in")
def sign_in(
    request: Request,
    session: DbSession,
    code: Annotated[str, Form(max_length=128)] = "",
    token: Annotated[str, Form(max_length=8192)] = "",
) -> Response:
    """Exchange a one-time code or a pasted bearer token for a new session (the cookie); the
    session this browser had, if any, ends (no fixation, no leftovers)."""
    if not same_origin(request):
        return render(request, "error.html", {"message": "csrf_failed"}, status=403)
    settings, previous = get_settings(), session_id(request)
    if not settings.local_sign_in:
        return _sign_in_page(request, reason="signin.local_off", status=403)
    try:
        if code.strip():
            opened = signin.sign_in_with_code(session, settings, code.strip(), replacing=previous)
        else:
            opened = signin.sign_in_with_token(session, settings, token.strip(), replacing=previous)
    except SignInRefused as exc:
        raise PageRefusal(
            _sign_in_page(request, reason=f"signin.{exc.reason}", status=401)
        ) from exc
    except AuthenticationError as exc:
        problem = exc.message_in(language(request))
        raise PageRefusal(_sign_in_page(request, problem=problem, status=401)) from exc
    response = back(HOME[opened.principal.role])
    _set_session_cookie(request, response, opened)
    return response


def _set_session_cookie(request: Request, response: Response, opened: signin.Opened) -> None:
    response.set_cookie(
        COOKIE,
        opened.session_id,
        max_age=_seconds_left(opened),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _seconds_left(opened: signin.Opened) -> int:
    return max(int((opened.expires_at - utcnow()).total_seconds()), 0)


@router.get(LOGIN_PATH)
def sign_in_through_provider(request: Request, next: str | None = None) -> Response:
    """Off to the provider's login page (state, nonce and PKCE verifier in a signed cookie)."""
    provider = identity_provider(get_settings())
    if provider is None:
        return render(request, "error.html", {"message": "not_found"}, status=404)
    try:
        return provider.begin(request, _local(next, ""))
    except IdentityRefused as exc:
        return _sign_in_page(request, refusal=exc.message_in(language(request)), status=502)


@router.get(CALLBACK_PATH)
def provider_callback(request: Request, session: DbSession) -> Response:
    """Back from the provider: the identity it proves opens a session as any proof does
    (audited). The session cookie is SameSite=Strict, which a browser withholds on the rest of
    a redirect chain the provider began, so the page that answers moves on by itself
    (a meta refresh: a navigation of this site's own) instead of redirecting."""
    settings, previous = get_settings(), session_id(request)
    provider = identity_provider(settings)
    if provider is None:
        return render(request, "error.html", {"message": "not_found"}, status=404)
    try:
        signed = provider.complete(request, session)
    except IdentityRefused as exc:
        status = 502 if exc.code == "identity.unavailable" else 403
        refused = _sign_in_page(request, refusal=exc.message_in(language(request)), status=status)
        refused.delete_cookie(LOGIN_COOKIE, path=LOGIN_PATH, httponly=True, samesite="lax")
        raise PageRefusal(refused) from exc
    if previous:
        signin.close(session, previous)
    opened = signin.open_session(
        session, settings, signed.identity.principal, method=provider.method
    )
    home = _local(signed.next_path, HOME[opened.principal.role])
    response = render(request, "signed_in.html", {"home": home})
    _set_session_cookie(request, response, opened)
    response.delete_cookie(LOGIN_COOKIE, path=LOGIN_PATH, httponly=True, samesite="lax")
    if signed.sign_out_hint:
        response.set_cookie(
            LOGOUT_COOKIE,
            signed.sign_out_hint,
            max_age=_seconds_left(opened),
            path="/sign-out",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return response


def _sign_in_page(
    request: Request,
    *,
    code: str = "",
    who: Principal | None = None,
    reason: str | None = None,
    problem: str | None = None,
    refusal: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The sign-in page; `problem`: why a pasted token was refused, `refusal`: why the
    provider's sign-in was (each in the page's language)."""
    settings = get_settings()
    provider = identity_provider(settings)
    context = {
        "code": code,
        "who": who,
        "reason": reason,
        "problem": problem,
        "refusal": refusal,
        "provider": provider.name if provider else None,
        "local": settings.local_sign_in,
    }
    return render(request, "sign_in.html", context, status=status)


@router.post("/sign-out", dependencies=[Csrf])
def sign_out(request: Request, session: DbSession) -> Response:
    """Revoke the session (audited): its cookie, replayed, signs nobody in. Signed in through a
    provider that offers it, the browser goes on to the provider's sign-out (RP-initiated
    logout), which comes back to the sign-in page."""
    known = session_id(request)
    if known:
        signin.close(session, known)
    provider = identity_provider(get_settings())
    hint = request.cookies.get(LOGOUT_COOKIE)
    onward = None
    if provider is not None and hint:
        try:
            onward = provider.sign_out_url(request, hint)
        except IdentityRefused:
            onward = None  # the provider is unreachable: the portal's own session is closed
    # The CSP's form-action 'self' also governs where a form's POST redirects to, so the
    # provider's sign-out is reached from a page of our own (a meta refresh, a link).
    response: Response = (
        render(request, "signed_out.html", {"onward": onward}) if onward else back("/sign-in")
    )
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    response.delete_cookie(LOGOUT_COOKIE, path="/sign-out", httponly=True, samesite="strict")
    return response


@router.get("/lang/{code}")
def switch_language(code: str, next: str | None = None) -> Response:
    """Keep the language in a cookie (a preference, not a secret) and go back."""
    response = back(_local(next, "/"))
    if code in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, code, max_age=365 * 86400, path="/", samesite="lax")
    return response
