"""Finding: no request body limit; a 150 MB body was read and parsed before authentication.

Now a body over the limit is 413 problem+json before routing, parsing or authentication: at once
when its Content-Length says so, and as soon as a chunked body passes the limit (never read on).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

from fastapi.testclient import TestClient
from starlette.types import Message, Scope

from subsidy.api.limits import BodyLimitMiddleware, BodyLimits
from subsidy.auth import Role
from subsidy.settings import get_settings
from tests.security.conftest import bearer

BODY_TOO_LARGE = "urn:qinqing:problem:body-too-large"


def _assert_too_large(response: object) -> None:
    assert response.status_code == 413, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    problem = response.json()  # type: ignore[attr-defined]
    assert problem["type"] == BODY_TOO_LARGE
    assert f"{get_settings().max_body_bytes:,} bytes" in problem["detail"]
    assert "send a smaller body" in problem["detail"]


def test_a_large_body_is_refused_before_authentication(client: TestClient) -> None:
    body = json.dumps({"policy_id": "x" * (get_settings().max_body_bytes + 1)})
    response = client.post(
        "/api/v1/redemptions",
        content=body,
        headers={"Content-Type": "application/json", "Idempotency-Key": "k" * 16},
    )
    _assert_too_large(response)  # not 401: nobody authenticated a 64 KiB + 1 body


def test_a_large_body_is_refused_with_a_token_too(client: TestClient) -> None:
    body = b'{"policy_id": "' + b"x" * (10 << 20) + b'"}'
    headers = {"Content-Type": "application/json", "Idempotency-Key": "k" * 16}
    response = client.post(
        "/api/v1/redemptions", content=body, headers=headers | bearer(Role.ENTERPRISE)
    )
    _assert_too_large(response)


def test_a_chunked_body_is_refused_once_it_passes_the_limit(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"reason": "'
        for _ in range(200):
            yield b"x" * 4096
        yield b'"}'

    response = client.post(
        "/api/v1/redemptions/1/reverse",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    _assert_too_large(response)


def test_the_middleware_stops_reading_a_chunked_body_at_the_limit() -> None:
    limit, chunk, sent = 1000, b"x" * 100, 0
    app_called = False

    async def app(scope: Scope, receive: object, send: object) -> None:
        nonlocal app_called
        app_called = True

    async def receive() -> Message:
        nonlocal sent
        sent += 1
        return {"type": "http.request", "body": chunk, "more_body": True}  # endless

    answered: list[Message] = []

    async def send(message: Message) -> None:
        answered.append(message)

    scope = {"type": "http", "path": "/api/v1/redemptions", "headers": []}
    middleware = BodyLimitMiddleware(app, BodyLimits(default=limit, documents=limit))
    asyncio.run(middleware(scope, receive, send))
    assert not app_called
    assert sent == limit // len(chunk) + 1  # read until past the limit, and no further
    assert answered[0]["status"] == 413


def test_a_policy_document_may_be_larger_than_a_json_request(client: TestClient) -> None:
    document = "title: " + "x" * (get_settings().max_body_bytes * 2) + "\n"
    response = client.post(
        "/api/v1/policy-drafts",
        content=document,
        headers={"Content-Type": "application/yaml"} | bearer(Role.OFFICER),
    )
    assert response.status_code == 201, response.text


def test_a_document_over_its_own_limit_is_refused_before_authentication(
    client: TestClient,
) -> None:
    document = b"x" * (get_settings().max_document_body_bytes + 1)
    response = client.post(
        "/api/v1/policy-drafts", content=document, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 413
    assert response.json()["type"] == BODY_TOO_LARGE


def test_small_bodies_pass(client: TestClient) -> None:
    response = client.post(
        "/api/v1/redemptions/1/reverse",
        json={"reason": "duplicate"},
        headers=bearer(Role.OFFICER),
    )
    assert response.status_code == 404  # through to the endpoint: no redemption 1
