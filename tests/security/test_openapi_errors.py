"""Finding: error responses and problem+json were not in the OpenAPI schema (FastAPI documented a
422 with its own HTTPValidationError, and nothing else).

Now every operation documents the problems it answers as `application/problem+json` with the
Problem schema (422: ValidationProblem, with `errors`), and a default problem for the rest.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from subsidy.api.admission import queued
from subsidy.app import create_app
from subsidy.auth import Role
from tests.security.conftest import bearer
from tests.subsidy.test_api import api_routes

PROBLEM_MEDIA = "application/problem+json"
PROBLEM_SCHEMAS = {"#/components/schemas/Problem", "#/components/schemas/ValidationProblem"}


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    document = create_app().openapi()
    return [
        (path, method, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def _problem_statuses(operation: dict[str, Any]) -> set[str]:
    found = set()
    for status, response in operation["responses"].items():
        content = response.get("content", {})
        if status[0] in "45" or status == "default":
            assert set(content) == {PROBLEM_MEDIA}, (status, content)
            assert content[PROBLEM_MEDIA]["schema"]["$ref"] in PROBLEM_SCHEMAS
            found.add(status)
    return found


def test_fastapi_validation_error_is_gone() -> None:
    document = json.dumps(create_app().openapi())
    assert "HTTPValidationError" not in document
    assert '"ValidationError"' not in document
    schemas = create_app().openapi()["components"]["schemas"]
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "detail"}
    assert "errors" in schemas["ValidationProblem"]["allOf"][1]["properties"]


@pytest.mark.parametrize(("path", "method", "operation"), _operations(), ids=lambda v: str(v)[:60])
def test_every_operation_documents_its_problems(
    path: str, method: str, operation: dict[str, Any]
) -> None:
    statuses = _problem_statuses(operation)
    assert "default" in statuses
    if operation.get("security"):
        assert {"401", "403"} <= statuses
    if "{" in path:
        assert "404" in statuses
    if "requestBody" in operation:
        assert {"413", "422"} <= statuses
    if operation.get("parameters"):
        assert "422" in statuses
    if method in ("post", "put", "delete") and path.startswith("/api/"):
        assert statuses - {"default"}, f"{method} {path} documents no problem"


def test_the_documented_422_is_what_the_api_answers(app_env: Engine) -> None:
    with TestClient(create_app()) as client:
        schemas = client.get("/openapi.json").json()["components"]["schemas"]
        answered = client.get("/api/v1/redemptions/not-a-number", headers=bearer(Role.OFFICER))
    assert answered.status_code == 422
    assert answered.headers["content-type"] == PROBLEM_MEDIA
    body = answered.json()
    assert set(schemas["Problem"]["required"]) <= set(body)
    error = schemas["ValidationProblem"]["allOf"][1]["properties"]["errors"]["items"]
    assert all(set(e) == set(error["required"]) for e in body["errors"])


def _rate_limited_routes() -> set[tuple[str, str]]:
    """(path, method) of every API route with a per-client limit (a `rate_limited` dependency)."""
    found = set()
    for route in api_routes():
        calls = [d.call for d in route.dependant.dependencies]
        if any(getattr(c, "__qualname__", "").startswith("rate_limited.") for c in calls):
            found |= {(route.path, m.lower()) for m in route.methods or ()}
    return found


def test_overload_and_rate_limits_are_documented() -> None:
    limited = _rate_limited_routes()
    assert ("/api/v1/redemptions", "post") in limited  # the walk finds them
    for path, method, operation in _operations():
        statuses = _problem_statuses(operation)
        if queued(path):  # /healthz is never queued (tests/security/test_admission.py)
            assert "503" in statuses, f"{method} {path}: admission may answer 503"
        if (path, method) in limited:
            assert "429" in statuses, f"{method} {path} is rate limited"
