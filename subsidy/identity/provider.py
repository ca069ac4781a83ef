"""The OpenID provider as this server sees it: its discovery, its keys, the tokens it signs.

`OpenIdProvider` reads `ISSUER/.well-known/openid-configuration` (its `issuer` must be the
configured one, byte for byte) and the JWKS it names, both cached; a token signed with a key id
the cached set lacks fetches the set again (the provider rolled its keys), at most once every
`JWKS_REFRESH_EVERY`, so forged key ids cannot make this server hammer the provider. Tokens are
verified with joserfc (the JOSE library authlib builds on), asymmetric algorithms only (never
`none`, never an HMAC keyed by something public), then their claims: `iss`, `aud` (and `azp`
when there are several audiences), `exp`, `iat`, `nbf` with `CLOCK_SKEW` leeway, and the nonce
for an ID token. Nothing here logs a token or a claim.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from subsidy.auth import CLOCK_SKEW
from subsidy.identity.errors import IdentityRefused
from subsidy.settings import Settings

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
"""Signatures accepted: public-key ones only."""
METADATA_LIFETIME = 3600.0
JWKS_REFRESH_EVERY = 30.0


class OpenIdProvider:
    """One provider (issuer, client): discovery, keys, token exchange and token checks."""

    def __init__(
        self,
        settings: Settings,
        http: httpx.Client | None = None,
        *,
        refresh_every: float = JWKS_REFRESH_EVERY,
    ) -> None:
        self.issuer = settings.oidc_issuer
        self.client_id = settings.oidc_client_id
        self.api_audience = settings.oidc_api_audience or settings.oidc_client_id
        self._secret = settings.oidc_client_secret
        self._http = http or httpx.Client(timeout=settings.oidc_timeout_seconds)
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._refresh_every = refresh_every
        self._refreshed_at = float("-inf")

    # --- what the provider publishes ----------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        """The discovery document (cached for an hour)."""
        with self._lock:
            fresh = time.monotonic() - self._metadata_at < METADATA_LIFETIME
            if self._metadata is None or not fresh:
                self._metadata = self._discover()
                self._metadata_at = time.monotonic()
            return self._metadata

    def endpoint(self, name: str) -> str | None:
        found = self.metadata().get(name)
        return found if isinstance(found, str) and found else None

    def _discover(self) -> dict[str, Any]:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = self._get_json(url)
        if document.get("issuer") != self.issuer:
            raise IdentityRefused(
                code="identity.unavailable",
                detail=f"the discovery at {url} names the issuer {document.get('issuer')!r}, "
                f"not QINQING_OIDC_ISSUER {self.issuer!r}",
            )
        for required in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(required), str):
                raise IdentityRefused(
                    code="identity.unavailable", detail=f"the discovery at {url} lacks {required}"
                )
        return document

    def _key_set(self, *, refresh: bool, fetch: bool = True) -> KeySet | None:
        if not fetch:
            return self._keys
        uri = self.metadata()["jwks_uri"]
        with self._lock:
            again = refresh and time.monotonic() - self._refreshed_at >= self._refresh_every
            if self._keys is None or again:
                try:
                    self._keys = KeySet.import_key_set(self._get_json(uri))  # type: ignore[arg-type]
                except (JoseError, ValueError, TypeError) as exc:
                    raise IdentityRefused(
                        code="identity.unavailable", detail=f"the JWKS at {uri} cannot be read"
                    ) from exc
                if again:
                    self._refreshed_at = time.monotonic()
            return self._keys

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            answer = self._http.get(url, headers={"Accept": "application/json"})
            answer.raise_for_status()
            document = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise IdentityRefused(
                code="identity.unavailable", detail=f"{url}: {type(exc).__name__}"
            ) from exc
        if not isinstance(document, dict):
            raise IdentityRefused(code="identity.unavailable", detail=f"{url}: not a JSON object")
        return document

    # --- the authorization code, exchanged ---------------------------------------------------

    def exchange(self, code: str, *, verifier: str, redirect_uri: str) -> dict[str, Any]:
        """The token endpoint's answer for an authorization code (PKCE verifier sent along);
        the client authenticates with client_secret_basic, or as a public client without one."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        if self._secret is None:  # a public client: PKCE alone binds the code to this login
            form["client_id"] = self.client_id
        url = self.metadata()["token_endpoint"]
        try:
            if self._secret is None:
                answer = self._http.post(url, data=form)
            else:
                secret = self._secret.get_secret_value()
                answer = self._http.post(url, data=form, auth=(self.client_id, secret))
            body = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise IdentityRefused(
                code="identity.unavailable", detail=f"{url}: {type(exc).__name__}"
            ) from exc
        if answer.status_code != 200 or not isinstance(body, dict) or "id_token" not in body:
            error = body.get("error", answer.status_code) if isinstance(body, dict) else "?"
            raise IdentityRefused(code="identity.provider_error", error=str(error))
        return body

    # --- tokens --------------------------------------------------------------------------------

    def verify_id_token(self, token: str, *, nonce: str, now: int | None = None) -> dict[str, Any]:
        """The claims of an ID token issued to this client for this login (its nonce); `now`
        (epoch seconds) is the time it is checked at, the clock's by default."""
        claims = self._verified(token, fetch=True, now=now)
        audiences = _audiences(claims)
        if self.client_id not in audiences:
            raise _bad("the ID token is not for this client (aud)")
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise _bad("the ID token has several audiences and another authorized party (azp)")
        if "azp" in claims and claims["azp"] != self.client_id:
            raise _bad("the ID token's authorized party (azp) is another client")
        if "iat" not in claims:
            raise _bad("the ID token has no issue time (iat)")
        if claims.get("nonce") != nonce:
            raise IdentityRefused(code="identity.nonce")
        return claims

    def verify_access_token(
        self, token: str, *, fetch: bool = True, now: int | None = None
    ) -> dict[str, Any]:
        """The claims of a JWT access token for the API: this issuer, the API's audience (in
        `aud`, or the client as `azp` / `client_id`), not expired. `fetch=False` uses only the
        keys already cached (for callers that must not wait on the network)."""
        claims = self._verified(token, fetch=fetch, now=now)
        if _is_id_token(claims):
            raise _bad("an ID token is not an access token")
        named = {*_audiences(claims), claims.get("azp"), claims.get("client_id")}
        if self.api_audience not in named:
            raise _bad("the access token is not for this API (aud)")
        return claims

    def _verified(self, token: str, *, fetch: bool, now: int | None) -> dict[str, Any]:
        try:
            header = jws.extract_compact(token.encode()).protected
        except (JoseError, ValueError) as exc:
            raise _bad("not a signed JWT") from exc
        if header.get("alg") not in ALGORITHMS:
            raise _bad(f"the signature algorithm {header.get('alg')!r} is not accepted")
        keys = self._key_set(refresh=False, fetch=fetch)
        kid = header.get("kid")
        if keys is not None and kid is not None and not _has_kid(keys, kid):
            keys = self._key_set(refresh=True, fetch=fetch)  # the provider may have rolled keys
        if keys is None:
            raise _bad("the provider's keys are not known yet")
        try:
            decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
        except (JoseError, ValueError) as exc:
            raise _bad("the signature does not verify against the provider's keys") from exc
        claims = dict(decoded.claims)
        registry = jwt.JWTClaimsRegistry(
            now=now,
            leeway=int(CLOCK_SKEW.total_seconds()),
            iss={"essential": True, "value": self.issuer},
            exp={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise _bad(f"{exc.error}: {exc.description or ''}".strip(": ")) from exc
        return claims


def _is_id_token(claims: Mapping[str, Any]) -> bool:
    """Keycloak says which in `typ` (ID / Bearer); otherwise an ID token is told by its nonce,
    which this client always sends and no access token of RFC 9068 carries."""
    if claims.get("typ") in ("ID", "Bearer"):
        return bool(claims["typ"] == "ID")
    return "nonce" in claims


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys.keys)


def _audiences(claims: Mapping[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    return [str(item) for item in aud] if isinstance(aud, list) else []


def _bad(why: str) -> IdentityRefused:
    return IdentityRefused(code="identity.token", detail=why)


_providers: dict[tuple[object, ...], OpenIdProvider] = {}
_providers_lock = threading.Lock()


def provider_for(settings: Settings) -> OpenIdProvider:
    """The process's provider for these settings (its caches shared by every request)."""
    secret = settings.oidc_client_secret
    key = (
        settings.oidc_issuer,
        settings.oidc_client_id,
        settings.oidc_api_audience,
        secret.get_secret_value() if secret else None,
        settings.oidc_timeout_seconds,
    )
    with _providers_lock:
        if key not in _providers:
            _providers[key] = OpenIdProvider(settings)
        return _providers[key]
