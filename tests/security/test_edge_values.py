"""Finding: integers beyond int4 in paths and queries and NUL bytes in strings answered 500
text/plain (25 distinct cases).

Now every id is bounded to what its column holds (`subsidy/api/params.py`), and a control
character in any path, query or form field or JSON string is 422 naming the field. This test
walks EVERY route of the app (API and portal), signed in with a role the route admits, and sends
each parameter in turn out of range (2**31, 2**63, 10**30) or with a NUL: never a 500, and the
API answers problem+json. It runs on the suite's database (SQLite, or PostgreSQL when the suite
runs there), and once more on PostgreSQL, where both findings were 500s.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import Engine

from subsidy import db
from subsidy.app import create_app
from subsidy.auth import Role, mint
from subsidy.settings import get_settings
from subsidy.web.session import COOKIE, CSRF_HEADER, csrf_token
from tests.subsidy.factories import make_uscc

OUT_OF_RANGE = (2**31, 2**63, 10**30)
NUL = "a\x00b"


def all_routes(app: FastAPI) -> list[APIRoute]:
    found: list[APIRoute] = []
    pending: list[object] = list(app.routes)
    while pending:
        route = pending.pop()
        if isinstance(route, APIRoute):
            found.append(route)
        included = getattr(route, "original_router", None)
        if included is not None:
            pending.extend(included.routes)
    return sorted(found, key=lambda r: (r.path, sorted(r.methods or ())))


def _flat(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _flat(sub)


def _roles(route: APIRoute) -> tuple[Role, ...] | None:
    for dependant in _flat(route.dependant):
        roles = getattr(dependant.call, "roles", None)
        if roles is not None:
            return tuple(roles)
    return None


def _kind(annotation: Any) -> type:
    """int, str, bool, dt.date or an Enum, from an annotation such as `int | None`."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _kind(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return _kind(next(a for a in typing.get_args(annotation) if a is not type(None)))
    return annotation  # type: ignore[no-any-return]


def _valid(kind: type) -> Any:
    if kind is bool:
        return "true"
    if kind is int:
        return 1
    if kind is dt.date:
        return "2020-06-30"
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return next(iter(kind)).value
    return "x" * 8  # every id and reason takes eight characters


def _bad(kind: type) -> tuple[Any, ...]:
    if kind is int:
        return OUT_OF_RANGE
    if kind is str:
        return (NUL,)
    return ()


@dataclass
class Case:
    route: APIRoute
    method: str
    where: str
    name: str
    value: Any

    def __str__(self) -> str:
        return f"{self.method} {self.route.path} {self.where}.{self.name}={self.value!r}"


def _cases(route: APIRoute) -> Iterator[Case]:
    method = sorted(route.methods or ())[0]
    for dependant in _flat(route.dependant):
        for where, fields in (("path", dependant.path_params), ("query", dependant.query_params)):
            for field in fields:
                for value in _bad(_kind(field.field_info.annotation)):
                    yield Case(route, method, where, field.name, value)
    for field in route.dependant.body_params:
        model = _kind(field.field_info.annotation)
        if isinstance(model, type) and issubclass(model, BaseModel):
            for name, info in model.model_fields.items():
                for value in _bad(_kind(info.annotation)):
                    yield Case(route, method, "json", name, value)
        else:
            for value in _bad(model):
                yield Case(route, method, "form", field.alias or field.name, value)
    takes_document = route.openapi_extra is not None and method in ("POST", "PUT")
    if route.path.startswith("/api/v1/policy-drafts") and takes_document:
        yield Case(route, method, "document", "body", "title: a\x00b\n")


def _request(client: TestClient, case: Case) -> Any:
    route = case.route
    path, query, form, body = route.path, {}, {}, None
    for dependant in _flat(route.dependant):
        for field in dependant.path_params:
            value = case.value if (case.where, case.name) == ("path", field.name) else None
            shown = value if value is not None else _valid(_kind(field.field_info.annotation))
            path = path.replace("{" + field.name + "}", quote(str(shown), safe=""))
        for field in dependant.query_params:
            if (case.where, case.name) == ("query", field.name):
                query[field.alias or field.name] = case.value
    for field in route.dependant.body_params:
        model = _kind(field.field_info.annotation)
        if isinstance(model, type) and issubclass(model, BaseModel):
            body = {n: _valid(_kind(i.annotation)) for n, i in model.model_fields.items()}
            if case.where == "json":
                body[case.name] = case.value
        else:
            name = field.alias or field.name
            form[name] = case.value if (case.where, case.name) == ("form", name) else "x" * 8
    headers = _signed_in(route)
    headers["Idempotency-Key"] = "k" * 16
    if case.where == "document":
        headers["Content-Type"] = "application/yaml"
        return client.request(case.method, path, content=case.value, headers=headers)
    if form:
        return client.request(case.method, path, params=query, data=form, headers=headers)
    return client.request(case.method, path, params=query, json=body, headers=headers)


def _signed_in(route: APIRoute) -> dict[str, str]:
    roles = _roles(route)
    if not roles:
        return {}
    role = roles[0]
    uscc = make_uscc(1) if role is Role.ENTERPRISE else None
    token = mint(get_settings(), role, subject=f"{role}-tester", uscc=uscc)
    if route.path.startswith("/api/"):
        return {"Authorization": f"Bearer {token}"}
    return {"Cookie": f"{COOKIE}={token}", CSRF_HEADER: csrf_token(token)}


def _walk(client: TestClient) -> tuple[int, list[str]]:
    cases = [case for route in all_routes(client.app) for case in _cases(route)]  # type: ignore[arg-type]
    failures = []
    for case in cases:
        response = _request(client, case)
        problem = response.headers.get("content-type", "").startswith("application/problem+json")
        if response.status_code >= 500:
            failures.append(f"{case}: {response.status_code} {response.text[:120]}")
        elif (case.route.path.startswith("/api/") or response.status_code == 422) and (
            response.status_code >= 400 and not problem
        ):
            failures.append(f"{case}: {response.status_code} not problem+json")
    return len(cases), failures


def test_every_route_refuses_out_of_range_ints_and_nul_bytes(app_env: Engine) -> None:
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        walked, failures = _walk(client)
    assert walked > 80  # every route's every parameter
    assert failures == []


@pytest.mark.postgres
def test_on_postgresql_too(
    pg_engine: Engine, data_dir: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QINQING_DATABASE_URL", pg_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("QINQING_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    try:
        with TestClient(create_app(), raise_server_exceptions=False) as client:
            _walked, failures = _walk(client)
    finally:
        get_settings.cache_clear()
        db.get_engine.cache_clear()
    assert failures == []


def test_an_id_out_of_range_is_422_naming_the_field(app_env: Engine) -> None:
    token = mint(get_settings(), Role.OFFICER, subject="officer-tester")
    with TestClient(create_app()) as client:
        response = client.get(
            f"/api/v1/redemptions/{2**31}", headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert error["field"] == "path.redemption_id"


def test_a_nul_in_a_json_string_is_422_naming_the_field(app_env: Engine) -> None:
    token = mint(get_settings(), Role.OFFICER, subject="officer-tester")
    with TestClient(create_app()) as client:
        response = client.post(
            "/api/v1/redemptions/1/reverse",
            json={"reason": "a\x00b"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error == {
        "field": "body.reason",
        "message": "Value error, must not contain control characters (such as NUL)",
    }
