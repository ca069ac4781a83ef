"""Errors as RFC 9457 problem details (`application/problem+json`), each with a stable `type`.

Endpoints raise; these handlers answer. A `type` never changes once published, so clients can
branch on it; `title` is for people, `detail` says what happened this time.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from subsidy.auth import AuthenticationError
from subsidy.errors import QinqingError
from subsidy.settings import get_settings

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

    @property
    def headers(self) -> dict[str, str]:
        """Headers the answer carries besides the problem (Retry-After, ...)."""
        return {}


class NotFound(ProblemError):
    status, slug, title = 404, "not-found", "Not found"


class Forbidden(ProblemError):
    status, slug, title = 403, "forbidden", "Your role may not do this"


class _TryLater(ProblemError):
    """A refusal that passes: the answer says when to try again (Retry-After, in seconds)."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Overloaded(_TryLater):
    status, slug, title = 503, "overloaded", "The service is busy; try again shortly"


class RateLimited(_TryLater):
    status, slug, title = 429, "rate-limited", "Too many requests; slow down"


def answer(exc: ProblemError) -> JSONResponse:
    """The problem+json answer to `exc` (also an ASGI app, for middleware)."""
    response = problem(exc.status, exc.slug, exc.title, exc.detail, **exc.extra)
    response.headers.update(exc.headers)
    return response


def problem(status: int, slug: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": TYPE_PREFIX + slug, "title": title, "status": status, "detail": detail}
    return JSONResponse(body | extra, status_code=status, media_type=MEDIA_TYPE)


def install(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> JSONResponse:
        return answer(exc)

    @app.exception_handler(PoolTimeout)
    async def _no_connection(_: Request, exc: PoolTimeout) -> JSONResponse:
        # Every connection of the worker's pool stayed busy for QINQING_POOL_TIMEOUT_SECONDS:
        # the database, not the request, is the trouble; the same request will do later.
        wait = get_settings().overload_retry_after_seconds
        return answer(Overloaded("no database connection came free in time", retry_after=wait))

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
