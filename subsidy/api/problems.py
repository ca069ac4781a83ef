"""Errors as RFC 9457 problem details (`application/problem+json`), each with a stable `type`.

Endpoints raise; these handlers answer. A `type` never changes once published, so clients can
branch on it; `title` is for people, `detail` says what happened this time.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from subsidy.auth import AuthenticationError
from subsidy.errors import QinqingError

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:qinqing:problem:"


class ProblemError(QinqingError):
    """An answer other than success, with its HTTP status and stable problem type."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(ProblemError):
    status, slug, title = 404, "not-found", "Not found"


class Forbidden(ProblemError):
    status, slug, title = 403, "forbidden", "Your role may not do this"


def problem(status: int, slug: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": TYPE_PREFIX + slug, "title": title, "status": status, "detail": detail}
    return JSONResponse(body | extra, status_code=status, media_type=MEDIA_TYPE)


def install(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> JSONResponse:
        return problem(exc.status, exc.slug, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(AuthenticationError)
    async def _unauthenticated(_: Request, exc: AuthenticationError) -> JSONResponse:
        response = problem(401, "unauthenticated", "Sign in first", str(exc))
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        return problem(
            422, "invalid-request", "The request is not valid", "see errors", errors=errors
        )

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        return problem(exc.status_code, f"http-{exc.status_code}", str(exc.detail), str(exc.detail))
