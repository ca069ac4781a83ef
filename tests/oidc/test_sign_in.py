"""Signing in through a real OpenID provider (tests/oidc/conftest.py), over HTTP: the portal on
TestClient, the provider on loopback, the browser's hops carried by hand between them."""

from __future__ import annotations

import base64
import html
import json
import re
import secrets
import socket
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from subsidy.app import create_app
from subsidy.audit.models import AuditEntry
from subsidy.auth import Role
from subsidy.identity.errors import IdentityRefused
from subsidy.identity.provider import OpenIdProvider as ProviderClient
from subsidy.settings import get_settings
from subsidy.signin.models import PortalSession
from subsidy.signin.oidc import LOGIN_COOKIE
from subsidy.web.session import COOKIE, csrf_token
from tests.oidc.conftest import CLIENT_ID, CLIENT_SECRET, TEST_BASE, OpenIdProvider
from tests.portal.conftest import token_for

CALLBACK = f"{TEST_BASE}/sign-in/oidc/callback"


@pytest.fixture
def portal(oidc_settings: OpenIdProvider, registered: list[str]) -> Iterator[TestClient]:
    with TestClient(create_app(), base_url=TEST_BASE, follow_redirects=False) as client:
        yield client


@pytest.fixture
def browser_at_provider(oidc_settings: OpenIdProvider) -> Iterator[httpx.Client]:
    """The browser's cookie jar at the provider (its login session)."""
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        yield http


def back_from_provider(
    portal: TestClient, at_provider: httpx.Client, provider: OpenIdProvider, account: str
) -> str:
    """Click "sign in through ...", sign in at the provider: the callback URL it sends back."""
    started = portal.get("/sign-in/oidc")
    assert started.status_code == 303, started.text
    assert LOGIN_COOKIE in started.cookies
    location = provider.login(at_provider, started.headers["location"], account)
    assert location.startswith(CALLBACK), location
    return location


def relative(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def sign_in(
    portal: TestClient, at_provider: httpx.Client, provider: OpenIdProvider, account: str
) -> httpx.Response:
    answer: httpx.Response = portal.get(
        relative(back_from_provider(portal, at_provider, provider, account))
    )
    return answer


def test_the_sign_in_page_offers_the_provider_and_in_development_the_token_form(
    portal: TestClient,
) -> None:
    page = portal.get("/sign-in")
    assert page.status_code == 200
    assert "通过Test ID登录" in page.text
    assert 'id="token-form"' in page.text  # QINQING_ENVIRONMENT is development here


def test_a_firm_signs_in_bound_to_its_registered_uscc(
    portal: TestClient,
    browser_at_provider: httpx.Client,
    oidc_settings: OpenIdProvider,
    app_env: Engine,
) -> None:
    answer = sign_in(portal, browser_at_provider, oidc_settings, "firm")
    assert answer.status_code == 200, answer.text
    assert 'http-equiv="refresh" content="0; url=/firm"' in answer.text
    assert COOKIE in answer.cookies
    firm = portal.get("/firm")
    assert firm.status_code == 200
    assert "我的补贴" in firm.text
    with Session(app_env) as session:
        opened = session.exec(select(PortalSession)).scalars().one()  # type: ignore[call-overload]
        assert (opened.role, opened.uscc, opened.method) == (
            "enterprise",
            oidc_settings.firm_uscc,
            "oidc",
        )
        actions = session.execute(select(col(AuditEntry.action))).scalars().all()
    assert "signin.session_opened" in actions


def test_an_officer_gets_the_role_its_group_maps_to(
    portal: TestClient, browser_at_provider: httpx.Client, oidc_settings: OpenIdProvider
) -> None:
    answer = sign_in(portal, browser_at_provider, oidc_settings, "li")
    assert answer.status_code == 200, answer.text
    assert "url=/officer/policies" in answer.text
    assert portal.get("/officer/policies").status_code == 200
    assert portal.get("/firm").status_code == 403  # the role still decides every page


@pytest.mark.parametrize(
    ("account", "words"),
    [
        ("bad-uscc", "不是有效的统一社会信用代码"),
        ("stranger", "不在企业名录中"),
        ("nobody", "不属于本平台认可的任何组"),
        ("both", "对应多个角色"),
    ],
)
def test_who_the_portal_cannot_place_is_refused_with_the_reason(
    portal: TestClient,
    browser_at_provider: httpx.Client,
    oidc_settings: OpenIdProvider,
    app_env: Engine,
    account: str,
    words: str,
) -> None:
    answer = sign_in(portal, browser_at_provider, oidc_settings, account)
    assert answer.status_code == 403
    assert words in answer.text
    assert 'id="sign-in-refusal"' in answer.text
    assert "令牌无效" not in answer.text  # no token was pasted: the provider's answer is refused
    assert COOKIE not in answer.cookies
    with Session(app_env) as session:
        assert session.execute(select(col(PortalSession.id))).first() is None


def test_a_callback_with_another_state_is_refused(
    portal: TestClient, browser_at_provider: httpx.Client, oidc_settings: OpenIdProvider
) -> None:
    callback = back_from_provider(portal, browser_at_provider, oidc_settings, "li")
    query = parse_qs(urlsplit(callback).query)
    query["state"] = ["forged-" + secrets.token_urlsafe(8)]
    forged = portal.get(f"/sign-in/oidc/callback?{urlencode(query, doseq=True)}")
    assert forged.status_code == 403
    assert "state" in forged.text
    assert COOKIE not in forged.cookies


def test_an_id_token_with_another_nonce_is_refused(
    portal: TestClient, browser_at_provider: httpx.Client, oidc_settings: OpenIdProvider
) -> None:
    """The authorization request altered on its way to the provider (another nonce): the code
    still redeems (same PKCE challenge), but its ID token is not this login's."""
    started = portal.get("/sign-in/oidc")
    parts = urlsplit(started.headers["location"])
    query = parse_qs(parts.query)
    query["nonce"] = ["injected-" + secrets.token_urlsafe(8)]
    altered = f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query, doseq=True)}"
    callback = oidc_settings.login(browser_at_provider, altered, "li")
    answer = portal.get(relative(callback))
    assert answer.status_code == 403
    assert "nonce" in answer.text
    assert COOKIE not in answer.cookies


def test_a_replayed_callback_signs_nobody_in(
    portal: TestClient, browser_at_provider: httpx.Client, oidc_settings: OpenIdProvider
) -> None:
    callback = relative(back_from_provider(portal, browser_at_provider, oidc_settings, "li"))
    login_cookie = portal.cookies.get(LOGIN_COOKIE, path="/sign-in/oidc")
    assert login_cookie
    assert portal.get(callback).status_code == 200
    portal.cookies.delete(COOKIE)

    again = portal.get(callback)  # the browser's login cookie is gone
    assert again.status_code == 403
    assert "没有正在进行的身份提供方登录" in again.text

    portal.cookies.set(LOGIN_COOKIE, login_cookie, path="/sign-in/oidc")  # an attacker's copy
    copied = portal.get(callback)
    assert copied.status_code == 403
    assert "invalid_grant" in copied.text  # the provider redeems a code once
    assert COOKIE not in copied.cookies


def test_a_callback_without_the_login_cookie_is_refused(
    portal: TestClient, browser_at_provider: httpx.Client, oidc_settings: OpenIdProvider
) -> None:
    callback = relative(back_from_provider(portal, browser_at_provider, oidc_settings, "li"))
    portal.cookies.clear()  # another browser: login CSRF, a link sent to a victim
    assert portal.get(callback).status_code == 403


def test_the_provider_refusing_is_shown(portal: TestClient, oidc_settings: OpenIdProvider) -> None:
    answer = portal.get("/sign-in/oidc/callback?error=access_denied&state=x")
    assert answer.status_code == 403
    assert "access_denied" in answer.text


def test_sign_out_closes_the_session_and_goes_on_to_the_providers_sign_out(
    portal: TestClient, browser_at_provider: httpx.Client, oidc_settings: OpenIdProvider
) -> None:
    sign_in(portal, browser_at_provider, oidc_settings, "li")
    session_id = portal.cookies.get(COOKIE)
    assert session_id
    out = portal.post("/sign-out", data={"csrf": csrf_token(session_id)})
    assert out.status_code == 200
    assert COOKIE not in portal.cookies
    link = re.search(r'id="provider-sign-out" href="([^"]+)"', out.text)
    assert link is not None
    onward_url = html.unescape(link.group(1))
    onward = urlsplit(onward_url)
    assert f"{onward.scheme}://{onward.netloc}" == oidc_settings.issuer
    query = parse_qs(onward.query)
    assert query["post_logout_redirect_uri"] == [f"{TEST_BASE}/sign-in"]
    assert query["id_token_hint"][0].count(".") == 2
    portal.cookies.set(COOKIE, session_id)  # the old cookie, replayed
    assert portal.get("/officer/policies").status_code == 303

    ended = browser_at_provider.get(onward_url)  # the provider's own sign-out
    assert ended.status_code == 200
    assert 'id="confirm-logout"' in ended.text


# --- tokens checked on their own, and on the API ----------------------------------------------


def provider_tokens(provider: OpenIdProvider, account: str, nonce: str) -> dict[str, str]:
    """Tokens the provider issues to this client for `account` (the test as the client)."""
    verifier = secrets.token_urlsafe(48)
    query = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": CALLBACK,
        "scope": "openid profile",
        "state": "s",
        "nonce": nonce,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        back = provider.login(http, f"{provider.issuer}/auth?{urlencode(query)}", account)
        code = parse_qs(urlsplit(back).query)["code"][0]
        answer = http.post(
            f"{provider.issuer}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": CALLBACK,
                "code_verifier": verifier,
            },
            auth=(CLIENT_ID, CLIENT_SECRET),
        )
    assert answer.status_code == 200, answer.text
    tokens: dict[str, str] = answer.json()
    return tokens


def tampered(token: str) -> str:
    head, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["groups"] = ["auditors"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{signature}"


def test_an_id_token_is_checked_for_nonce_audience_and_signature(
    oidc_settings: OpenIdProvider,
) -> None:
    tokens = provider_tokens(oidc_settings, "li", nonce="the-nonce")
    client = ProviderClient(get_settings())
    assert client.verify_id_token(tokens["id_token"], nonce="the-nonce")["sub"] == "li"
    with pytest.raises(IdentityRefused) as wrong_nonce:
        client.verify_id_token(tokens["id_token"], nonce="another-login")
    assert wrong_nonce.value.code == "identity.nonce"
    with pytest.raises(IdentityRefused, match="aud"):  # the API's access token, not for us
        client.verify_id_token(tokens["access_token"], nonce="the-nonce")
    with pytest.raises(IdentityRefused, match="signature"):
        client.verify_id_token(tampered(tokens["id_token"]), nonce="the-nonce")


def test_the_api_takes_the_providers_access_tokens(
    portal: TestClient, oidc_settings: OpenIdProvider
) -> None:
    officer = provider_tokens(oidc_settings, "li", nonce="n1")["access_token"]
    drafts = portal.get("/api/v1/policy-drafts", headers={"Authorization": f"Bearer {officer}"})
    assert drafts.status_code == 200, drafts.text
    mine = portal.get("/api/v1/me/redemptions", headers={"Authorization": f"Bearer {officer}"})
    assert mine.status_code == 403  # an officer is no firm

    firm = provider_tokens(oidc_settings, "firm", nonce="n2")["access_token"]
    answer = portal.get("/api/v1/me/redemptions", headers={"Authorization": f"Bearer {firm}"})
    assert answer.status_code == 200, answer.text


def test_the_api_refuses_a_forged_or_a_strangers_token(
    portal: TestClient, oidc_settings: OpenIdProvider
) -> None:
    tokens = provider_tokens(oidc_settings, "li", nonce="n3")
    forged = tampered(tokens["access_token"])
    answer = portal.get("/api/v1/policy-drafts", headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401, answer.text
    stranger = provider_tokens(oidc_settings, "stranger", nonce="n4")["access_token"]
    answer = portal.get("/api/v1/me/redemptions", headers={"Authorization": f"Bearer {stranger}"})
    assert answer.status_code == 401
    assert answer.json()["code"] == "identity.unregistered_uscc"


def test_an_id_token_is_no_access_token_even_for_the_clients_own_audience(
    portal: TestClient, oidc_settings: OpenIdProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QINQING_OIDC_API_AUDIENCE")  # the API's audience: the client itself
    get_settings.cache_clear()
    tokens = provider_tokens(oidc_settings, "li", nonce="n6")
    access = {"Authorization": f"Bearer {tokens['access_token']}"}  # client_id: the client
    assert portal.get("/api/v1/policy-drafts", headers=access).status_code == 200
    identity = {"Authorization": f"Bearer {tokens['id_token']}"}  # aud: the client
    answer = portal.get("/api/v1/policy-drafts", headers=identity)
    assert answer.status_code == 401
    assert "not an access token" in answer.json()["detail"]


def test_an_access_token_for_another_audience_is_refused(
    portal: TestClient, oidc_settings: OpenIdProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = provider_tokens(oidc_settings, "li", nonce="n5")["access_token"]
    monkeypatch.setenv("QINQING_OIDC_API_AUDIENCE", "urn:another:api")
    get_settings.cache_clear()
    answer = portal.get("/api/v1/policy-drafts", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401
    assert "aud" in answer.json()["detail"]


def test_locally_minted_tokens_only_in_development(
    portal: TestClient, oidc_settings: OpenIdProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = token_for(Role.OFFICER, subject="li")
    headers = {"Authorization": f"Bearer {local}"}
    assert portal.get("/api/v1/policy-drafts", headers=headers).status_code == 200
    monkeypatch.setenv("QINQING_ENVIRONMENT", "test")
    monkeypatch.setenv("QINQING_SECRET_KEY", "x" * 40)
    get_settings.cache_clear()
    local = token_for(Role.OFFICER, subject="li")
    answer = portal.get("/api/v1/policy-drafts", headers={"Authorization": f"Bearer {local}"})
    assert answer.status_code == 401
    assert answer.json()["code"] == "auth.local_refused"
    page = portal.get("/sign-in")
    assert 'id="token-form"' not in page.text
    assert "通过Test ID登录" in page.text
    refused = portal.post("/sign-in", data={"token": local})
    assert refused.status_code == 403


def test_a_provider_that_cannot_be_reached_is_said_so(
    app_env: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("QINQING_OIDC_ISSUER", f"http://127.0.0.1:{closed}")
    monkeypatch.setenv("QINQING_OIDC_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("QINQING_OIDC_TIMEOUT_SECONDS", "2")
    get_settings.cache_clear()
    with TestClient(create_app(), base_url=TEST_BASE, follow_redirects=False) as client:
        answer = client.get("/sign-in/oidc")
    assert answer.status_code == 502
    assert "无法连接或读取身份提供方" in answer.text
