"""Sign-in links put the bearer token in the URL (`/sign-in?token=...`), hence in access logs
and browser history. Now a link carries a one-time code: random, stored hashed, bound to one
principal, dead once used or after QINQING_SIGN_IN_CODE_MINUTES; a link carrying a token is
refused, and no URL the portal makes or redirects to carries a token, code or session id."""

from __future__ import annotations

import datetime as dt
import re
import threading
from urllib.parse import urlsplit

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from subsidy import db
from subsidy.auth import Principal, Role, mint
from subsidy.cli import app as cli
from subsidy.settings import get_settings
from subsidy.signin import service as signin
from subsidy.signin.cli import sign_in_links
from subsidy.signin.errors import SignInRefused
from subsidy.signin.models import SignInCode
from subsidy.web import ROUTERS
from subsidy.web.session import COOKIE
from tests.subsidy.test_api import demo_uscc

CODE_LINK = re.compile(r"^http://127\.0\.0\.1:8000/sign-in\?code=[A-Za-z0-9_-]{43}$")
URL_ATTRIBUTE = re.compile(r'(?:href|src|action|hx-get|hx-post)="([^"]*)"')
FIRM = Principal(subject="demo-enterprise", role=Role.ENTERPRISE, uscc=demo_uscc())


def code_for(who: Principal, *, now: dt.datetime | None = None) -> str:
    with db.session_scope() as session:
        return signin.issue_code(
            session, get_settings(), who, issued_by="system:test", now=now
        ).code


def test_the_demo_links_carry_one_time_codes_never_tokens(app_env: Engine) -> None:
    with db.session_scope() as session:
        links = sign_in_links(session, "http://127.0.0.1:8000", FIRM.uscc, issued_by="system:demo")
    # every role, and a second officer: suspending or closing takes two
    assert set(links) == {str(role) for role in Role} | {"officer (a second one)"}
    for link in links.values():
        assert CODE_LINK.match(link), link
        assert "eyJ" not in link  # the start of every JWT
    with Session(app_env) as session:
        stored = session.exec(select(SignInCode)).all()
    assert len(stored) == 5
    codes = {urlsplit(link).query.removeprefix("code=") for link in links.values()}
    assert not codes & {row.code_hash for row in stored}  # only hashes are kept


def test_qinqing_sign_in_link_prints_a_one_time_link(app_env: Engine) -> None:
    args = ["sign-in", "link", "--role", "finance", "--subject", "wang"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    link = result.stdout.strip()
    assert CODE_LINK.match(link), link
    refused = CliRunner().invoke(cli, ["sign-in", "link", "--role", "enterprise", "--subject", "x"])
    assert refused.exit_code == 2
    assert "exactly one USCC" in refused.output


def test_a_code_signs_in_once_and_a_replay_shows_the_form_with_the_reason(
    client: TestClient,
) -> None:
    code = code_for(Principal(subject="wang", role=Role.FINANCE))
    named = client.get(f"/sign-in?code={code}")
    assert named.status_code == 200
    assert "以 财务 · wang 身份登录" in named.text
    assert COOKIE not in named.headers.get("set-cookie", "")  # opening the link signs nobody in

    used = client.post("/sign-in", data={"code": code}, follow_redirects=False)
    assert used.status_code == 303
    assert used.headers["location"] == "/finance/batches"
    client.cookies.clear()

    replayed = client.post("/sign-in", data={"code": code}, follow_redirects=False)
    assert replayed.status_code == 401
    assert "此登录链接已使用过" in replayed.text
    assert COOKIE not in replayed.headers.get("set-cookie", "")
    reopened = client.get(f"/sign-in?code={code}&lang=en")
    assert reopened.status_code == 400
    assert "This sign-in link has already been used" in reopened.text
    assert 'id="token-form"' in reopened.text  # the sign-in form, to sign in another way


def test_an_expired_or_unknown_code_shows_the_form_with_the_reason(client: TestClient) -> None:
    eleven_minutes_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=11)
    code = code_for(Principal(subject="li", role=Role.OFFICER), now=eleven_minutes_ago)
    expired = client.post("/sign-in", data={"code": code}, follow_redirects=False)
    assert expired.status_code == 401
    assert "此登录链接已过期" in expired.text
    assert client.get(f"/sign-in?code={code}").status_code == 400
    unknown = client.get("/sign-in?code=not-a-code")
    assert unknown.status_code == 400
    assert "此登录链接无效" in unknown.text


def test_a_link_carrying_a_token_is_refused_and_the_token_not_echoed(client: TestClient) -> None:
    token = mint(get_settings(), Role.FINANCE, subject="wang")
    response = client.get(f"/sign-in?token={token}")
    assert response.status_code == 400
    assert token not in response.text
    assert "链接中不能携带令牌" in response.text
    assert COOKIE not in response.headers.get("set-cookie", "")
    assert client.get(f"/sign-in?token={token}", follow_redirects=False).status_code == 400


def test_no_url_the_portal_makes_or_redirects_to_carries_a_secret(client: TestClient) -> None:
    """Signed in as every role by a code, every page: no Location and no link, form action or
    htmx URL holds the code, the session id or a JWT."""
    token = mint(get_settings(), Role.OFFICER, subject="li")
    secrets_seen: list[str] = [token]
    urls: list[str] = []
    for role in Role:
        client.cookies.clear()
        who = FIRM if role is Role.ENTERPRISE else Principal(subject=f"{role}-x", role=role)
        code = code_for(who)
        signed = client.post("/sign-in", data={"code": code}, follow_redirects=False)
        urls.append(signed.headers["location"])
        secrets_seen += [code, client.cookies[COOKIE]]
        for route in [r for router in ROUTERS for r in router.routes]:
            if not isinstance(route, APIRoute) or "GET" not in (route.methods or ()):
                continue
            if "{" in route.path:
                continue  # pages of one object: their links are the list pages' links
            response = client.get(route.path, follow_redirects=False)
            urls += [response.headers.get("location", ""), *URL_ATTRIBUTE.findall(response.text)]
    client.cookies.clear()
    pasted = client.post("/sign-in", data={"token": token}, follow_redirects=False)
    urls.append(pasted.headers["location"])
    assert len(urls) > 40, urls
    for url in urls:
        assert "eyJ" not in url, url
        assert "token=" not in url, url
        assert not any(secret in url for secret in secrets_seen), url


@pytest.mark.postgres
def test_two_requests_racing_with_one_code_sign_in_once(pg_engine: Engine) -> None:
    """The second use waits for the first's row lock, then finds the code used."""
    settings = get_settings()
    with db.session_scope(pg_engine) as session:
        who = Principal(subject="li", role=Role.OFFICER)
        code = signin.issue_code(session, settings, who, issued_by="system:test").code
    first = Session(pg_engine)
    assert signin.redeem_code(first, code) == who  # not committed yet: the row stays locked
    outcome: list[str] = []

    def second() -> None:
        with Session(pg_engine) as other:
            try:
                signin.redeem_code(other, code)
                outcome.append("signed in")
            except SignInRefused as exc:
                outcome.append(exc.reason)

    racer = threading.Thread(target=second)
    racer.start()
    racer.join(timeout=0.5)
    assert racer.is_alive()  # blocked on the first's update
    first.commit()
    first.close()
    racer.join(timeout=10)
    assert outcome == ["used"]
