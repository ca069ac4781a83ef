"""The web API: every endpoint declares its roles, answers problems as RFC 9457, and a firm sees
only its own data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlmodel import Session

from matching import service as matching_service
from policies import service as policy_service
from policies.document import load_path
from subsidy import db
from subsidy.app import create_app
from subsidy.auth import AuthenticationError, Role, mint, verify
from subsidy.registry import demo
from subsidy.registry import service as registry_service
from subsidy.settings import get_settings
from tests.apps import app_for_this_test
from tests.subsidy.factories import make_uscc

EXAMPLES = Path(__file__).parents[2] / "policies" / "examples"


@pytest.fixture
def client(app_env: Engine) -> Iterator[TestClient]:
    with TestClient(app_for_this_test()) as test_client:
        yield test_client


def token(role: Role, uscc: str | None = None) -> dict[str, str]:
    minted = mint(get_settings(), role, subject=f"{role}-tester", uscc=uscc)
    return {"Authorization": f"Bearer {minted}"}


@pytest.fixture
def matched(
    app_env: Engine, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """A 200-firm registry with the UI refund published and matched on 2020-06-30, the business
    date (the refund is in force then); returns the usccs."""
    monkeypatch.setenv("QINQING_TODAY", "2020-06-30")
    get_settings.cache_clear()
    paths = demo.write(*demo.generate(200, seed=3), tmp_path / "registry", "parquet")
    document = load_path(EXAMPLES / "hz-2020-ui-refund.yaml")
    approved = policy_service.approve(document, "ui.yaml", [matching_service.compile_issues])
    with db.session_scope(app_env) as session:
        registry_service.import_registry(session, *paths, data_dir=data_dir)
        policy_service.publish(session, approved, by="officer")
    with db.session_scope(app_env) as session:
        matching_service.run_match(session, data_dir, as_of=dt.date(2020, 6, 30))
    return demo.generate(200, seed=3)[0]["uscc"].to_list()


def api_routes() -> list[APIRoute]:
    """Every API route, also those inside included routers."""
    found: list[APIRoute] = []
    pending: list[object] = list(create_app().routes)
    while pending:
        route = pending.pop()
        if isinstance(route, APIRoute) and route.path.startswith("/api"):
            found.append(route)
        included = getattr(route, "original_router", None)
        if included is not None:
            pending.extend(included.routes)
    assert found, "the API has routes"
    return sorted(found, key=lambda r: r.path)


def declared_roles(route: APIRoute) -> tuple[Role, ...]:
    for dependency in route.dependant.dependencies:
        roles = getattr(dependency.call, "roles", None)
        if roles is not None:
            return tuple(roles)
    raise AssertionError(f"{route.path} declares no roles")


@pytest.mark.parametrize("route", api_routes(), ids=lambda r: f"{r.methods} {r.path}")
@pytest.mark.parametrize("role", list(Role))
def test_every_endpoint_admits_only_its_roles(
    client: TestClient, route: APIRoute, role: Role
) -> None:
    uscc = demo_uscc() if role is Role.ENTERPRISE else None
    (method,) = route.methods or {"GET"}
    response = client.request(method, route.path, headers=token(role, uscc))
    if role in declared_roles(route):
        assert response.status_code != 403, response.text
    else:
        assert response.status_code == 403
        assert response.json()["type"] == "urn:qinqing:problem:forbidden"


@pytest.mark.parametrize("route", api_routes(), ids=lambda r: f"{r.methods} {r.path}")
def test_every_endpoint_needs_a_valid_token(client: TestClient, route: APIRoute) -> None:
    (method,) = route.methods or {"GET"}
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = client.request(method, route.path, headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "urn:qinqing:problem:unauthenticated"


def demo_uscc() -> str:
    return str(demo.generate(5, seed=3)[0]["uscc"][0])


def test_a_firm_sees_its_own_qualifications_with_why(
    client: TestClient, matched: list[str]
) -> None:
    seen = {}
    for uscc in matched[:40]:
        response = client.get("/api/v1/me/qualifications", headers=token(Role.ENTERPRISE, uscc))
        assert response.status_code == 200, response.text
        seen[uscc] = response.json()
    qualified = {u: q for u, q in seen.items() if q}
    assert qualified, "some of the first 40 demo firms get the UI refund"
    for answers in qualified.values():
        (answer,) = answers
        assert answer["policy_id"] == "hz-2020-ui-refund"
        assert answer["title"] == "杭州市2020年失业保险稳岗返还"  # the default language's
        assert answer["titles"]["en"] == "Unemployment-insurance refund for job retention"
        assert answer["summary"]["zh"].startswith("对正常经营")
        assert answer["valid_until"] == "2020-12-31"
        assert answer["explanation"][0] == {
            "text": "status == 'active'",
            "value": True,
            "error": None,
            "reads": {"status": "active"},
            "kinds": {"status": "text"},
            "label": {"zh": "企业处于存续状态", "en": "The firm is active"},
            "values": [
                {
                    "column": "status",
                    "label": {"zh": "经营状态", "en": "Status"},
                    "value": {"zh": "存续", "en": "active"},
                    "raw": "active",
                }
            ],
        }
    assert all(not q for u, q in seen.items() if u not in qualified)


def test_a_firm_missing_from_the_registry_gets_a_problem(
    client: TestClient, matched: list[str]
) -> None:
    stranger = make_uscc(999_999_999)  # valid, but not one of the demo firms
    response = client.get("/api/v1/me/qualifications", headers=token(Role.ENTERPRISE, stranger))
    assert response.status_code == 404
    assert response.json()["type"] == "urn:qinqing:problem:not-found"


def test_health_metrics_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert "python_info" in client.get("/metrics").text
    assert "/api/v1/me/qualifications" in client.get("/openapi.json").json()["paths"]


def test_tokens_expire_and_cannot_be_forged(app_env: Engine) -> None:
    settings = get_settings()
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    expired = mint(settings, Role.OFFICER, subject="x", now=old)
    with pytest.raises(AuthenticationError, match="expired"):
        verify(settings, expired)
    another = type(settings.secret_key)("another-secret-of-a-decent-length-0123456789")
    other = settings.model_copy(update={"secret_key": another})
    forged = mint(other, Role.AUDITOR, subject="x")
    with pytest.raises(AuthenticationError, match="not valid"):
        verify(settings, forged)
    with pytest.raises(ValueError, match="exactly one USCC"):
        mint(settings, Role.ENTERPRISE, subject="x")
    with pytest.raises(ValueError, match="not a valid USCC"):
        mint(settings, Role.ENTERPRISE, subject="x", uscc="123")


def test_an_answer_is_sent_only_after_the_commit(app_env: Engine) -> None:
    """A commit that fails after the endpoint returned reaches the client as an error, never as
    a success already sent (FastAPI's default would send first and commit after)."""

    def refuse(session: Session) -> None:
        raise RuntimeError("the database refused the commit")

    event.listen(Session, "before_commit", refuse)
    try:
        with TestClient(create_app(), raise_server_exceptions=False) as client:
            answer = client.get("/api/v1/policies", headers=token(Role.OFFICER))
    finally:
        event.remove(Session, "before_commit", refuse)
    assert answer.status_code == 500
    with TestClient(create_app()) as client:
        assert client.get("/api/v1/policies", headers=token(Role.OFFICER)).status_code == 200
