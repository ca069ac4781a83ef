"""The provider's keys: fetched once, fetched again for a key id the set lacks (a rolled key),
but not again and again for forged ones; only public-key signatures."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from subsidy.identity.errors import IdentityRefused
from subsidy.identity.provider import OpenIdProvider as ProviderClient
from subsidy.settings import get_settings
from tests.oidc.conftest import API_AUDIENCE, OpenIdProvider
from tests.oidc.test_sign_in import provider_tokens


def counting_client() -> tuple[httpx.Client, list[str]]:
    asked: list[str] = []

    def remember(request: httpx.Request) -> None:
        asked.append(request.url.path)

    return httpx.Client(timeout=10, event_hooks={"request": [remember]}), asked


def signed_elsewhere(issuer: str, kid: str) -> str:
    key = RSAKey.generate_key(2048, parameters={"kid": kid})
    now = int(time.time())
    claims = {"iss": issuer, "aud": API_AUDIENCE, "sub": "li", "iat": now, "exp": now + 300}
    return jwt.encode({"alg": "RS256", "kid": kid}, claims, key)


def test_an_unknown_key_id_fetches_the_keys_again_once(oidc_settings: OpenIdProvider) -> None:
    http, asked = counting_client()
    client = ProviderClient(get_settings(), http=http, refresh_every=3600)
    good = provider_tokens(oidc_settings, "li", nonce="k1")["access_token"]
    assert client.verify_access_token(good)["sub"] == "li"
    assert asked == ["/.well-known/openid-configuration", "/jwks"]

    with pytest.raises(IdentityRefused, match="signature"):
        client.verify_access_token(signed_elsewhere(oidc_settings.issuer, "rolled-1"))
    assert asked[2:] == ["/jwks"]  # a rolled key would be found now

    with pytest.raises(IdentityRefused, match="signature"):
        client.verify_access_token(signed_elsewhere(oidc_settings.issuer, "rolled-2"))
    assert asked[3:] == []  # within the hour: forged key ids do not make us hammer it
    assert client.verify_access_token(good)["sub"] == "li"


def unsigned(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}."


def test_an_unsigned_token_is_refused(oidc_settings: OpenIdProvider) -> None:
    now = int(time.time())
    forged = unsigned(
        {"iss": oidc_settings.issuer, "aud": API_AUDIENCE, "sub": "li", "exp": now + 60}
    )
    with pytest.raises(IdentityRefused, match="algorithm"):
        ProviderClient(get_settings()).verify_access_token(forged)


def test_an_expired_token_is_refused(oidc_settings: OpenIdProvider) -> None:
    client = ProviderClient(get_settings())
    token = provider_tokens(oidc_settings, "li", nonce="k2")["access_token"]
    claims = client.verify_access_token(token)
    later = claims["exp"] + 120  # past the minute of leeway
    with pytest.raises(IdentityRefused, match="exp"):
        client.verify_access_token(token, now=later)


def test_an_id_token_from_the_future_is_refused(oidc_settings: OpenIdProvider) -> None:
    client = ProviderClient(get_settings())
    token = provider_tokens(oidc_settings, "li", nonce="k3")["id_token"]
    issued = client.verify_id_token(token, nonce="k3")["iat"]
    assert client.verify_id_token(token, nonce="k3", now=issued - 30)  # within the leeway
    with pytest.raises(IdentityRefused, match="future"):
        client.verify_id_token(token, nonce="k3", now=issued - 120)
