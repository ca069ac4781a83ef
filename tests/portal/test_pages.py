"""The portal's pages: the same roles as the API on every page route, sign-in and sign-out by
cookie, CSRF on every POST, both languages, and what the pages say (without a browser)."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from policies.models import Policy, PolicyDraft
from subsidy import db
from subsidy.auth import Principal, Role
from subsidy.redemption import approval
from subsidy.redemption.models import Redemption
from subsidy.settings import get_settings
from subsidy.signin import service as signin
from subsidy.web import ROUTERS
from subsidy.web.session import COOKIE, csrf_token
from subsidy.web.sign_in import PUBLIC
from tests.portal.conftest import token_for
from tests.portal.world import World
from tests.subsidy.test_api import demo_uscc

PATH_VALUES = {
    "policy_id": "hz-2020-ui-refund",
    "verb": "suspend",
    "request_id": "1",
    "action": "save",
    "draft_id": "1",
    "redemption_id": "1",
    "batch_id": "1",
    "exception_id": "1",
    "job_id": "1",
    "code": "en",
    "run_id": "1",
    "sha256": "0" * 64,
    "uscc": "91330100000000000X",
    "fmt": "csv",
}


def page_routes() -> list[APIRoute]:
    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    assert routes, "the portal has pages"
    return sorted(routes, key=lambda r: (r.path, sorted(r.methods or ())))


def filled(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


def declared_roles(route: APIRoute) -> tuple[Role, ...] | None:
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        roles = getattr(dependency.call, "roles", None)
        if roles is not None:
            return tuple(roles)
        pending.extend(dependency.dependencies)
    return None


def sign_in(client: TestClient, role: Role, uscc: str | None = None) -> str:
    """Sign in through the form; the session's CSRF token."""
    token = token_for(role, uscc)
    response = client.post("/sign-in", data={"token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_token(client.cookies[COOKIE])


@pytest.mark.parametrize("route", page_routes(), ids=lambda r: f"{r.methods} {r.path}")
def test_every_page_declares_roles_unless_public(route: APIRoute) -> None:
    if route.path in PUBLIC:
        assert declared_roles(route) is None
    else:
        assert declared_roles(route), f"{route.path} declares no roles"


@pytest.mark.parametrize(
    "route",
    [r for r in page_routes() if r.path not in PUBLIC],
    ids=lambda r: f"{r.methods} {r.path}",
)
@pytest.mark.parametrize("role", list(Role))
def test_every_page_admits_only_its_roles(client: TestClient, route: APIRoute, role: Role) -> None:
    csrf = sign_in(client, role, demo_uscc() if role is Role.ENTERPRISE else None)
    (method,) = route.methods or {"GET"}
    response = client.request(
        method, filled(route.path), headers={"X-CSRF-Token": csrf}, follow_redirects=False
    )
    roles = declared_roles(route)
    assert roles is not None
    if role in roles:
        assert response.status_code != 403, response.text
    else:
        assert response.status_code == 403
        assert "您的角色无权查看此页面" in response.text


@pytest.mark.parametrize(
    "route",
    [r for r in page_routes() if r.path not in PUBLIC],
    ids=lambda r: f"{r.methods} {r.path}",
)
def test_every_page_needs_a_session(client: TestClient, route: APIRoute) -> None:
    (method,) = route.methods or {"GET"}
    for cookie in (None, "not-a-token"):
        client.cookies.clear()
        if cookie:
            client.cookies.set(COOKIE, cookie)
        response = client.request(method, filled(route.path), follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/sign-in"


def test_the_api_roles_are_the_pages_roles() -> None:
    """Pages that front an API endpoint admit exactly its roles."""
    expected = {
        "GET /firm": {Role.ENTERPRISE},
        "POST /firm/subsidies/{policy_id}/redeem": {Role.ENTERPRISE},
        "GET /officer/policies": {Role.OFFICER, Role.FINANCE, Role.AUDITOR},
        "POST /officer/policies/{policy_id}/{verb}": {Role.OFFICER},
        "GET /officer/drafts": {Role.OFFICER, Role.AUDITOR},
        "POST /officer/drafts": {Role.OFFICER},
        "GET /officer/drafts/{draft_id}": {Role.OFFICER, Role.AUDITOR},
        "GET /review": {Role.OFFICER, Role.FINANCE, Role.AUDITOR},
        "POST /review/{redemption_id}/approve": {Role.OFFICER},
        "POST /review/{redemption_id}/account": {Role.FINANCE},
        "POST /review/{redemption_id}/release": {Role.FINANCE},
        "GET /redemptions/{redemption_id}/receipt": {Role.ENTERPRISE, Role.FINANCE, Role.AUDITOR},
        "GET /finance/batches": {Role.FINANCE, Role.AUDITOR},
        "GET /finance/batches/{batch_id}": {Role.FINANCE, Role.AUDITOR},
        "GET /finance/exceptions": {Role.FINANCE, Role.AUDITOR},
        "POST /finance/exceptions/{exception_id}/resolve": {Role.FINANCE},
        "GET /finance/reports": {Role.FINANCE, Role.AUDITOR},
        "GET /finance/reports/disbursements.xlsx": {Role.FINANCE, Role.AUDITOR},
        "GET /finance/reports/jobs/{job_id}": {Role.FINANCE, Role.AUDITOR},
        "GET /finance/reports/jobs/{job_id}/file": {Role.FINANCE, Role.AUDITOR},
        "GET /finance/runs": {Role.FINANCE, Role.AUDITOR},
        "POST /finance/runs": {Role.FINANCE},
        "GET /finance/runs/{run_id}": {Role.FINANCE, Role.AUDITOR},
        "GET /finance/statements": {Role.FINANCE, Role.AUDITOR},
        "POST /finance/statements": {Role.FINANCE},
        "GET /finance/statements/{sha256}": {Role.FINANCE, Role.AUDITOR},
        "GET /finance/accounts": {Role.FINANCE, Role.AUDITOR},
        "POST /finance/accounts/{uscc}": {Role.FINANCE},
        "POST /finance/accounts/{uscc}/confirm": {Role.FINANCE},
        "GET /audit": {Role.AUDITOR},
        "POST /audit/verify": {Role.AUDITOR},
        "GET /audit/export.{fmt}": {Role.AUDITOR},
    }
    found = {
        f"{method} {r.path}": set(declared_roles(r) or ())
        for r in page_routes()
        for method in r.methods or ()
    }
    for route, roles in expected.items():
        assert found[route] == roles, route


def test_sign_in_sets_a_strict_http_only_cookie_and_sign_out_clears_it(client: TestClient) -> None:
    token = token_for(Role.OFFICER)
    response = client.post("/sign-in", data={"token": token}, follow_redirects=False)
    assert response.headers["location"] == "/officer/policies"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert token not in cookie  # the cookie names a server-side session, it is not the token
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    session = client.cookies[COOKIE]
    assert client.get("/", follow_redirects=False).headers["location"] == "/officer/policies"
    stale = client.post("/sign-out", follow_redirects=False)  # no CSRF token
    assert stale.status_code == 403
    response = client.post(
        "/sign-out", headers={"X-CSRF-Token": csrf_token(session)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert f'{COOKIE}=""' in response.headers["set-cookie"]
    assert client.get("/officer/policies", follow_redirects=False).status_code == 303


def test_a_bad_token_is_refused_at_the_form(client: TestClient) -> None:
    response = client.post("/sign-in", data={"token": "nonsense"}, follow_redirects=False)
    assert response.status_code == 401
    assert "令牌无效或已过期" in response.text
    assert COOKIE not in response.headers.get("set-cookie", "")


def test_a_sign_in_link_names_who_and_signs_in_on_the_click(client: TestClient) -> None:
    with db.session_scope() as session:
        who = Principal(subject="wang", role=Role.FINANCE)
        code = signin.issue_code(session, get_settings(), who, issued_by="system:test").code
    response = client.get(f"/sign-in?code={code}")
    assert response.status_code == 200
    assert "以 财务 · wang 身份登录" in response.text
    assert COOKIE not in response.headers.get("set-cookie", "")  # a link alone signs nobody in
    done = client.post("/sign-in", data={"code": code}, follow_redirects=False)
    assert done.headers["location"] == "/finance/batches"
    assert COOKIE in done.headers["set-cookie"]


def test_posts_need_the_session_csrf_token_and_no_foreign_origin(
    client: TestClient, world: World
) -> None:
    csrf = sign_in(client, Role.OFFICER)
    path = "/officer/policies/hz-2020-ui-refund/suspend"
    assert client.post(path, follow_redirects=False).status_code == 403
    assert client.post(path, data={"csrf": "0" * 64}, follow_redirects=False).status_code == 403
    foreign = {"X-CSRF-Token": csrf, "Origin": "https://evil.example"}
    assert client.post(path, headers=foreign, follow_redirects=False).status_code == 403
    signin_elsewhere = client.post(
        "/sign-in", data={"token": token_for(Role.OFFICER)}, headers={"Origin": "https://x.example"}
    )
    assert signin_elsewhere.status_code == 403
    done = client.post(path, data={"csrf": csrf, "reason": "核查"}, follow_redirects=False)
    assert done.status_code == 303
    assert "已提交申请 #1，等待另一名专员复核。" in client.get(done.headers["location"]).text


def test_chinese_by_default_english_by_switch(client: TestClient, world: World) -> None:
    sign_in(client, Role.ENTERPRISE, world.firm)
    assert "我的补贴" in client.get("/firm").text
    assert "My subsidies" in client.get("/firm?lang=en").text
    switched = client.get("/lang/en?next=/firm", follow_redirects=False)
    assert switched.headers["location"] == "/firm"
    assert "Subsidies you qualify for" in client.get("/firm").text
    elsewhere = client.get("/lang/zh?next=//evil.example/", follow_redirects=False)
    assert elsewhere.headers["location"] == "/"


def test_a_firm_sees_why_and_why_not_and_redeems_once_per_confirmation(
    client: TestClient, world: World, portal_env: Engine
) -> None:
    csrf = sign_in(client, Role.ENTERPRISE, world.firm)
    page = client.get("/firm").text
    assert f'id="subsidy-{world.policy_id}"' in page
    assert "status == &#39;active&#39;" in page  # the why, clause by clause
    assert 'class="card subsidy other"' in page  # and the policies it does not qualify for
    confirm = client.get(f"/firm/subsidies/{world.policy_id}/redeem").text
    key = re.search(r'name="key" value="(\w+)"', confirm)
    assert key
    form = {"csrf": csrf, "key": key.group(1)}
    first = client.post(f"/firm/subsidies/{world.policy_id}/redeem", data=form)
    again = client.post(f"/firm/subsidies/{world.policy_id}/redeem", data=form)  # double click
    assert first.status_code == again.status_code == 200
    assert first.url == again.url
    with Session(portal_env) as session:
        mine = session.exec(
            select(Redemption).where(
                Redemption.uscc == world.firm, Redemption.policy_id == world.policy_id
            )
        ).all()
    assert len(mine) == 1
    assert "已审批，待支付" in first.text
    other_key = {"csrf": csrf, "key": "another-click-key"}
    refused = client.post(f"/firm/subsidies/{world.policy_id}/redeem", data=other_key)
    assert refused.status_code == 409
    assert "未能兑付" in refused.text


def test_a_firm_never_sees_another_firms_redemption(
    client: TestClient, world: World, portal_env: Engine
) -> None:
    csrf = sign_in(client, Role.ENTERPRISE, world.firm)
    confirm = client.get(f"/firm/subsidies/{world.policy_id}/redeem").text
    key = re.search(r'name="key" value="(\w+)"', confirm)
    assert key
    done = client.post(
        f"/firm/subsidies/{world.policy_id}/redeem",
        data={"csrf": csrf, "key": key.group(1)},
        follow_redirects=False,
    )
    mine = done.headers["location"]
    client.cookies.clear()
    sign_in(client, Role.ENTERPRISE, world.other_firm)
    assert client.get(mine).status_code == 404


def test_the_editor_names_the_line_of_an_error(client: TestClient, world: World) -> None:
    csrf = sign_in(client, Role.OFFICER)
    created = client.post(
        "/officer/drafts", data={"csrf": csrf, "start": "hz-2020-ui-refund"}, follow_redirects=False
    )
    editor = client.get(created.headers["location"]).text
    assert 'id="valid"' in editor
    found = re.search(r"<textarea[^>]*>(.*?)</textarea>", editor, re.S)
    assert found
    text = html.unescape(found.group(1))
    lines = text.splitlines()
    line = next(i for i, t in enumerate(lines, 1) if t.startswith("amount:"))
    broken = text.replace("amount: ui_premium", "amount: ui_premum")
    check = client.post(
        created.headers["location"] + "/check",
        data={"text": broken},
        headers={"X-CSRF-Token": csrf},
    )
    assert f"第 {line} 行" in check.text
    assert "是否想写 'ui_premium'" in html.unescape(check.text)  # in the page's language


@pytest.mark.parametrize("action", ["preview", "publish"])
def test_a_refused_preview_or_publication_keeps_the_officers_save(
    client: TestClient, world: World, portal_env: Engine, action: str
) -> None:
    """The editor saves the text before it previews or publishes it: the step refused (the text
    has an error), the officer's save stays."""
    csrf = sign_in(client, Role.OFFICER)
    created = client.post(
        "/officer/drafts", data={"csrf": csrf, "start": "hz-2020-ui-refund"}, follow_redirects=False
    )
    found = re.search(
        r"<textarea[^>]*>(.*?)</textarea>", client.get(created.headers["location"]).text, re.S
    )
    assert found
    broken = html.unescape(found.group(1)).replace("amount: ui_premium", "amount: ui_premum")
    refused = client.post(
        f"{created.headers['location']}/{action}",
        data={"text": broken},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status_code == 200  # a partial: htmx swaps it in
    assert "是否想写 'ui_premium'" in html.unescape(refused.text)
    draft_id = int(created.headers["location"].rsplit("/", 1)[1])
    with Session(portal_env) as session:
        draft = session.get(PolicyDraft, draft_id)
        assert draft is not None
        assert draft.text == broken
        assert draft.published_version is None


def _held_by_a_flag(client: TestClient, world: World, portal_env: Engine) -> httpx.Response:
    """The world's firm, flagged, redeems: its redemption is held for an officer."""
    with db.session_scope(portal_env) as session:
        approval.flag(session, world.firm, "tip-off", by="officer:li")
    csrf = sign_in(client, Role.ENTERPRISE, world.firm)
    confirm = client.get(f"/firm/subsidies/{world.policy_id}/redeem").text
    key = re.search(r'name="key" value="(\w+)"', confirm)
    assert key
    held: httpx.Response = client.post(
        f"/firm/subsidies/{world.policy_id}/redeem", data={"csrf": csrf, "key": key.group(1)}
    )
    client.cookies.clear()
    return held


def test_a_held_redemption_is_approved_once_by_an_officer(
    client: TestClient, world: World, portal_env: Engine
) -> None:
    held = _held_by_a_flag(client, world, portal_env)
    assert "待审批" in held.text
    redemption_id = held.url.path.rsplit("/", 1)[1]
    csrf = sign_in(client, Role.OFFICER)
    assert f'id="held-{redemption_id}"' in client.get("/review").text
    approved = client.post(f"/review/{redemption_id}/approve", data={"csrf": csrf})
    assert f"兑付 #{redemption_id} 已审批" in approved.text
    assert f'id="held-{redemption_id}"' not in approved.text
    again = client.post(f"/review/{redemption_id}/approve", data={"csrf": csrf})
    assert again.status_code == 409
    assert "未能完成" in again.text


def test_the_review_queue_names_each_policy_by_its_title_in_the_page_language(
    client: TestClient, world: World, portal_env: Engine
) -> None:
    assert "待审批" in _held_by_a_flag(client, world, portal_env).text
    sign_in(client, Role.OFFICER)
    with db.session_scope(portal_env) as session:
        policy = session.get(Policy, world.policy_id)
        assert policy is not None
        assert policy.title_en
        zh, en = policy.title, policy.title_en
    assert f'title="{world.policy_id}">{zh}</td>' in client.get("/review").text
    assert f'title="{world.policy_id}">{en}</td>' in client.get("/review?lang=en").text
