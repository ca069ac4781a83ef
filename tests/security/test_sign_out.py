"""Sign-out did not revoke: the cookie was the bearer token itself, so a copy of it kept
working after sign-out. Now the cookie names a server-side session (only its hash stored) that
sign-out revokes, that ends after QINQING_SESSION_HOURS and after QINQING_SESSION_IDLE_MINUTES
unused; sign-in and sign-out are audited with role-qualified actors."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from subsidy import db
from subsidy.audit import service as audit
from subsidy.audit.models import AuditEntry
from subsidy.auth import Principal, Role, mint
from subsidy.cli import app as cli
from subsidy.settings import get_settings
from subsidy.signin import service as signin
from subsidy.signin.errors import SignInRefused
from subsidy.signin.models import PortalSession
from subsidy.web.session import COOKIE, csrf_token

LI = Principal(subject="li", role=Role.OFFICER)


def sign_in(client: TestClient, token: str | None = None) -> str:
    """Sign in with a pasted token; the session cookie."""
    token = token or mint(get_settings(), Role.OFFICER, subject="li")
    response = client.post("/sign-in", data={"token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return str(client.cookies[COOKIE])


def test_a_cookie_replayed_after_sign_out_gets_the_sign_in_form(client: TestClient) -> None:
    cookie = sign_in(client)
    assert client.get("/officer/policies", follow_redirects=False).status_code == 200
    out = client.post(
        "/sign-out", headers={"X-CSRF-Token": csrf_token(cookie)}, follow_redirects=False
    )
    assert out.status_code == 303
    client.cookies.set(COOKIE, cookie)  # the copy an attacker kept
    replayed = client.get("/officer/policies", follow_redirects=False)
    assert replayed.status_code == 303
    assert replayed.headers["location"] == "/sign-in"
    again = client.post(
        "/officer/policies/hz-2020-ui-refund/suspend",
        headers={"X-CSRF-Token": csrf_token(cookie)},
        follow_redirects=False,
    )
    assert again.headers["location"] == "/sign-in"


def test_the_database_holds_only_the_hash_and_the_token_bounds_the_session(
    client: TestClient, app_env: Engine
) -> None:
    hour = dt.timedelta(hours=1)
    cookie = sign_in(client, mint(get_settings(), Role.OFFICER, subject="li", lifetime=hour))
    with Session(app_env) as session:
        (row,) = session.exec(select(PortalSession)).all()
    assert row.id_hash == signin.digest(cookie) != cookie
    assert (row.role, row.subject, row.uscc, row.method) == ("officer", "li", None, "token")
    assert row.expires_at <= dt.datetime.now(dt.UTC) + hour  # never outlives its token


def test_sessions_end_when_idle_and_at_their_absolute_end(app_env: Engine) -> None:
    settings, start = get_settings(), dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    with db.session_scope() as session:
        idle = signin.open_session(session, settings, LI, method="code", now=start).session_id
        busy = signin.open_session(session, settings, LI, method="code", now=start).session_id
    with db.session_scope() as session:
        assert signin.resume(session, settings, idle, now=start + dt.timedelta(minutes=29)) == LI
        with pytest.raises(SignInRefused) as ended:
            signin.resume(session, settings, idle, now=start + dt.timedelta(minutes=60))
        assert ended.value.reason == "idle"
        for minutes in range(20, 12 * 60, 20):  # used every 20 minutes until 11:40
            assert (
                signin.resume(session, settings, busy, now=start + dt.timedelta(minutes=minutes))
                == LI
            )
        with pytest.raises(SignInRefused) as absolute:
            signin.resume(session, settings, busy, now=start + dt.timedelta(hours=12))
        assert absolute.value.reason == "expired"


def test_a_new_sign_in_ends_the_session_the_browser_had(client: TestClient) -> None:
    first = sign_in(client)
    second = sign_in(client)
    assert first != second
    client.cookies.set(COOKIE, first)
    assert client.get("/officer/policies", follow_redirects=False).status_code == 303


def test_sign_in_and_sign_out_are_audited(client: TestClient, app_env: Engine) -> None:
    cookie = sign_in(client)
    client.post("/sign-out", headers={"X-CSRF-Token": csrf_token(cookie)})
    with Session(app_env) as session:
        entries = session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all()
        assert audit.verify(session).reason is None
    done = [(e.actor, e.action, e.subject.split(":")[0]) for e in entries]
    assert done == [
        ("officer:li", "signin.session_opened", "portal_session"),
        ("officer:li", "signin.session_closed", "portal_session"),
    ]


def test_qinqing_sign_in_purge_deletes_ended_sessions_and_dead_codes(app_env: Engine) -> None:
    settings, long_ago = get_settings(), dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    with db.session_scope() as session:
        signin.open_session(session, settings, LI, method="code", now=long_ago)
        live = signin.open_session(session, settings, LI, method="code").session_id
        signin.issue_code(session, settings, LI, issued_by="system:test", now=long_ago)
        signin.issue_code(session, settings, LI, issued_by="system:test")
    result = CliRunner().invoke(cli, ["sign-in", "purge"])
    assert result.exit_code == 0, result.output
    assert "purged 1 ended sessions and 1 dead sign-in codes" in result.output
    with db.session_scope() as session:
        assert signin.resume(session, settings, live) == LI
