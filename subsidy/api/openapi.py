"""The OpenAPI document, with every error answer as what it is: `application/problem+json`.

FastAPI documents a 422 with its own `HTTPValidationError` and no other error at all. Here, in one
place, every operation gets the problems it can answer, each with the `Problem` schema (422:
`ValidationProblem`, which adds `errors`), inferred from what the operation declares:

    401, 403   it needs a bearer token (every endpoint declares its roles)
    404        it has a path parameter (an id that names nothing)
    413        it takes a body (the body limit, `subsidy.api.limits`)
    422        it has parameters or a body
    503        it is admitted (every route but those `subsidy.api.admission` never queues)
    default    any other problem (a 409 the route does not declare)

A route with a per-client limit (`rate_limited`) declares its 429 in `responses=`.

A route declares the other statuses it answers (409, 202, ...) in its own `responses=`; those
without content are given the Problem schema here.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from subsidy.api.admission import queued
from subsidy.api.problems import MEDIA_TYPE, TYPE_PREFIX

PROBLEM = "#/components/schemas/Problem"
VALIDATION_PROBLEM = "#/components/schemas/ValidationProblem"

SCHEMAS: dict[str, Any] = {
    "Problem": {
        "title": "Problem",
        "description": "RFC 9457 problem details; branch on `type`, which never changes.",
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {
                "type": "string",
                "format": "uri",
                "example": TYPE_PREFIX + "not-found",
                "description": f"A stable URN: {TYPE_PREFIX}<slug>.",
            },
            "title": {"type": "string", "description": "What kind of problem, for people."},
            "status": {"type": "integer", "description": "The HTTP status, repeated."},
            "detail": {"type": "string", "description": "What happened this time."},
        },
        "additionalProperties": True,
    },
    "ValidationProblem": {
        "title": "ValidationProblem",
        "description": "A request that is not valid: each field named with what is wrong.",
        "allOf": [
            {"$ref": PROBLEM},
            {
                "type": "object",
                "properties": {
                    "errors": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["field", "message"],
                            "properties": {
                                "field": {
                                    "type": "string",
                                    "example": "body.reason",
                                    "description": "Where: path., query., body. and the name.",
                                },
                                "message": {"type": "string"},
                            },
                        },
                    },
                },
            },
        ],
    },
}

DESCRIPTIONS = {
    400: "The request cannot be used",
    401: "No valid bearer token (WWW-Authenticate: Bearer)",
    403: "The caller's role may not use this endpoint",
    404: "No such resource",
    409: "The resource's state does not allow this",
    413: "The request body is larger than the limit",
    415: "The body's media type is not accepted",
    422: "The request is not valid: every field named",
    429: "Too many requests: wait as Retry-After says",
    503: "Overloaded: try again as Retry-After says",
    "default": "Any other problem",
}
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_problems(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    summary=app.summary,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented hook


def with_problems(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION:
        schemas.pop(name, None)
    schemas.update(SCHEMAS)
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            _document_problems(path, operation)
    return document


def _document_problems(path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    statuses: list[int | str] = [int(s) for s in responses if s[0] in "45"]
    if operation.get("security"):
        statuses += [401, 403]
    if "{" in path:
        statuses.append(404)
    if "requestBody" in operation:
        statuses.append(413)
    if operation.get("parameters") or "requestBody" in operation:
        statuses.append(422)
    if queued(path):
        statuses.append(503)
    statuses.append("default")
    for status in dict.fromkeys(statuses):
        key = str(status)
        schema = VALIDATION_PROBLEM if status == 422 else PROBLEM
        described = responses.get(key, {}).get("description")
        if status == 422 or not described or described == "Validation Error":
            described = DESCRIPTIONS.get(status, "A problem")
        responses[key] = {
            "description": described,
            "content": {MEDIA_TYPE: {"schema": {"$ref": schema}}},
        }
    ordered = sorted(responses.items(), key=lambda item: (item[0] == "default", item[0]))
    operation["responses"] = dict(ordered)  # successes, then problems by status, then default


def answers(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=` for the problems it answers beyond those inferred (e.g. 409)."""
    return {status: {"description": DESCRIPTIONS.get(status, "A problem")} for status in statuses}
