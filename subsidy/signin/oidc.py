"""Sign-in through an OpenID Connect provider: the authorization code flow with PKCE (S256).

`begin` makes a random state, nonce and PKCE verifier (authlib's generator and S256 challenge),
keeps them with the return path in a signed cookie (HS256 under a key derived from
QINQING_SECRET_KEY; HttpOnly, SameSite=Lax so that it comes back on the provider's top-level
redirect, Secure over HTTPS, path /sign-in/oidc, `LOGIN_MINUTES` long) and redirects to the
provider's authorization endpoint. `complete` (the callback) requires that cookie and the same
state (compared in constant time), the issuer if the provider names it (RFC 9207), exchanges the
code with the verifier, checks the ID token (signature by the JWKS, iss, aud, azp, exp, iat,
nonce: `subsidy.identity.provider`), maps its claims to an `Identity` and requires a firm's USCC
in the registry. The cookie is cleared by the page, so a replayed callback finds no login in
progress; one replayed with the cookie has a code the provider has already redeemed.
No migration: nothing of a login in progress is stored on the server.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from subsidy.identity.claims import check_registered, identity_from
from subsidy.identity.errors import IdentityRefused
from subsidy.identity.provider import OpenIdProvider, provider_for
from subsidy.settings import Settings
from subsidy.signin.providers import SignedIn

LOGIN_COOKIE = "qinqing_oidc_login"
LOGIN_PATH = "/sign-in/oidc"
CALLBACK_PATH = "/sign-in/oidc/callback"
LOGIN_MINUTES = 10


class OidcProvider:
    """The `IdentityProvider` of an OpenID Connect provider (QINQING_OIDC_*)."""

    method = "oidc"

    def __init__(self, settings: Settings, provider: OpenIdProvider | None = None) -> None:
        self._settings = settings
        self._provider = provider or provider_for(settings)

    @property
    def name(self) -> str:
        return self._settings.oidc_name or urlsplit(self._settings.oidc_issuer).netloc

    # --- out: to the provider's login ------------------------------------------------------------

    def begin(self, request: Request, next_path: str) -> Response:
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        redirect_uri = self._redirect_uri(request)
        query = {
            "response_type": "code",
            "client_id": self._settings.oidc_client_id,
            "redirect_uri": redirect_uri,
            "scope": self._settings.oidc_scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        endpoint = self._provider.metadata()["authorization_endpoint"]
        joiner = "&" if "?" in endpoint else "?"
        response = RedirectResponse(f"{endpoint}{joiner}{urlencode(query)}", status_code=303)
        login = {
            "state": state,
            "nonce": nonce,
            "verifier": verifier,
            "next": next_path,
            "redirect_uri": redirect_uri,
            "exp": int(time.time()) + LOGIN_MINUTES * 60,
        }
        response.set_cookie(
            LOGIN_COOKIE,
            jwt.encode(login, self._cookie_key(), algorithm="HS256"),
            max_age=LOGIN_MINUTES * 60,
            path=LOGIN_PATH,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return response

    # --- in: the callback ---------------------------------------------------------------------

    def complete(self, request: Request, session: Session) -> SignedIn:
        params = request.query_params
        if "error" in params:  # the user cancelled, or the provider refused the client
            raise IdentityRefused(code="identity.provider_error", error=params["error"][:100])
        login = self._login_in_progress(request)
        state = params.get("state", "")
        if not hmac.compare_digest(state.encode(), str(login["state"]).encode()):
            raise IdentityRefused(code="identity.state")
        issuer = params.get("iss")
        if issuer is not None and issuer != self._settings.oidc_issuer:
            raise IdentityRefused(code="identity.state")
        code = params.get("code")
        if not code:
            raise IdentityRefused(code="identity.provider_error", error="no code")
        tokens = self._provider.exchange(
            code, verifier=str(login["verifier"]), redirect_uri=str(login["redirect_uri"])
        )
        id_token = str(tokens["id_token"])
        claims = self._provider.verify_id_token(id_token, nonce=str(login["nonce"]))
        identity = check_registered(session, identity_from(self._settings, claims))
        return SignedIn(identity, str(login["next"]), sign_out_hint=id_token)

    def _login_in_progress(self, request: Request) -> dict[str, Any]:
        cookie = request.cookies.get(LOGIN_COOKIE)
        if not cookie:
            raise IdentityRefused(code="identity.no_login")
        try:
            login: dict[str, Any] = jwt.decode(
                cookie,
                self._cookie_key(),
                algorithms=["HS256"],
                options={"require": ["exp", "state", "nonce", "verifier"]},
            )
        except jwt.InvalidTokenError as exc:
            raise IdentityRefused(code="identity.no_login") from exc
        return login

    # --- sign-out --------------------------------------------------------------------------------

    def sign_out_url(self, request: Request, hint: str | None) -> str | None:
        """RP-initiated logout: the provider's end_session_endpoint, if it has one, with the ID
        token as hint and where to come back to."""
        endpoint = self._provider.endpoint("end_session_endpoint")
        if endpoint is None:
            return None
        query = {
            "client_id": self._settings.oidc_client_id,
            "post_logout_redirect_uri": self._settings.oidc_post_logout_url
            or _base(request) + "/sign-in",
        }
        if hint:
            query["id_token_hint"] = hint
        joiner = "&" if "?" in endpoint else "?"
        return f"{endpoint}{joiner}{urlencode(query)}"

    def _redirect_uri(self, request: Request) -> str:
        return self._settings.oidc_redirect_url or _base(request) + CALLBACK_PATH

    def _cookie_key(self) -> bytes:
        secret = self._settings.secret_key.get_secret_value().encode()
        return hmac.new(secret, b"oidc-login-state", hashlib.sha256).digest()


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")
