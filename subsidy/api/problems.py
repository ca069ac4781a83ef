"""Errors as RFC 9457 problem details (`application/problem+json`), each with a stable `type`.

Endpoints raise; one handler answers every `QinqingError` from what the error declares itself
(`status`, `slug`, `title`, `detail`, `extra()`, `headers`: see `subsidy.errors`), so a domain's
refusal needs no table here and a new subclass answers as its parent does, never a 500.
`ProblemError` is for answers of the HTTP edge itself (not found, forbidden, overloaded, ...),
or a domain refusal shaped for one route (`cause=`).

A `type` never changes once published, so clients can branch on it; `title` is for people,
`detail` says what happened this time (English).

Every body also carries `code`, the error's stable code (`redemption.already_redeemed`: the
domain error's own when a problem wraps one, else `api.<slug>`), and `message`, its words in the
language the request's `Accept-Language` prefers among zh and en (Chinese when it names neither),
from `errors.po`. A client shows `message` and branches on `type` or `code`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from subsidy import i18n
from subsidy.errors import QinqingError, worded
from subsidy.settings import get_settings

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:qinqing:problem:"


class ProblemError(QinqingError):
    """An answer of the HTTP edge, with its HTTP status and stable problem type."""

    code = "api.bad_request"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A problem's code is `api.<slug>` unless its class declares one."""
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            cls.code = "api." + cls.slug.replace("-", "_")

    def __init__(
        self,
        detail: str | None = None,
        /,
        *,
        cause: QinqingError | None = None,
        code: str | None = None,
        fields: Mapping[str, object] | None = None,
        **extra: Any,
    ) -> None:
        """`detail` as text, or `code=` one of the class's codes with the `fields` its words name
        (`NotFound(code="api.not_found.redemption", fields={"redemption_id": 5})`); `extra`
        goes into the body."""
        super().__init__(detail, code=code, **(fields or {}))
        self._extra = extra
        self.cause = cause
        if cause is not None:  # the domain's refusal: its code and its words
            self.code, self.fields = cause.code, cause.fields

    def message_in(self, language: i18n.Language) -> str:
        if self.cause is not None:
            return self.cause.message_in(language)
        return super().message_in(language)

    @property
    def detail(self) -> str:
        return str(self.args[0])

    def extra(self) -> dict[str, object]:
        return dict(self._extra)


class NotFound(ProblemError):
    status, slug, title = 404, "not-found", "Not found"
    variants = (
        "api.not_found.page",
        "api.not_found.redemption",
        "api.not_found.report_job",
        "api.not_found.own_firm",
    )


class Forbidden(ProblemError):
    status, slug, title = 403, "forbidden", "Your role may not do this"
    variants = ("api.forbidden.role",)
    terms: ClassVar[Mapping[str, str]] = {"role": "role."}


class _TryLater(ProblemError):
    """A refusal that passes: the answer says when to try again (Retry-After, in seconds)."""

    code = "api.try_later"

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


def answer(exc: QinqingError, language: i18n.Language = i18n.DEFAULT) -> JSONResponse:
    """The problem+json answer to `exc` (also an ASGI app, for middleware)."""
    words = {"code": exc.code, "message": exc.message_in(language)}
    response = problem(exc.status, exc.slug, exc.title, exc.detail, **words, **exc.extra())
    response.headers.update(exc.headers)
    return response


def problem(status: int, slug: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": TYPE_PREFIX + slug, "title": title, "status": status, "detail": detail}
    return JSONResponse(body | extra, status_code=status, media_type=MEDIA_TYPE)


def accepted_language(header: str | None) -> i18n.Language:
    """The language an `Accept-Language` header prefers among zh and en (by q, then order);
    Chinese when it names neither."""
    best: tuple[float, int, i18n.Language] | None = None
    for order, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        language = tag.strip().lower().split("-")[0]
        if language not in i18n.LANGUAGES:
            continue
        try:
            weight = float(params.strip().removeprefix("q=")) if params.strip() else 1.0
        except ValueError:
            weight = 0.0
        candidate = (-weight, order, i18n.language_of(language))
        if weight > 0 and (best is None or candidate < best):
            best = candidate
    return best[2] if best is not None else i18n.DEFAULT


def _language(request: Request) -> i18n.Language:
    return accepted_language(request.headers.get("accept-language"))


def install(app: FastAPI) -> None:
    @app.exception_handler(QinqingError)
    async def _refused(request: Request, exc: QinqingError) -> JSONResponse:
        return answer(exc, _language(request))

    @app.exception_handler(PoolTimeout)
    async def _no_connection(_: Request, exc: PoolTimeout) -> JSONResponse:
        # Every connection of the worker's pool stayed busy for QINQING_POOL_TIMEOUT_SECONDS:
        # the database, not the request, is the trouble; the same request will do later.
        wait = get_settings().overload_retry_after_seconds
        return answer(Overloaded("no database connection came free in time", retry_after=wait))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        words = _words(request, "api.see_errors", "see errors")
        return problem(
            422, "invalid-request", "The request is not valid", "see errors", **words, errors=errors
        )

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        detail = str(exc.detail)
        words = _words(request, "api.http", detail)
        return problem(exc.status_code, f"http-{exc.status_code}", detail, detail, **words)


def _words(request: Request, code: str, detail: str) -> dict[str, str]:
    """`code` and `message` for an answer that is not a QinqingError (FastAPI's own)."""
    return {"code": code, "message": worded(_language(request), code, {"detail": detail}, detail)}
