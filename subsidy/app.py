"""The FastAPI application: every domain's router, problem details, health and metrics, and the
web portal (`subsidy.web`).

`qinqing serve` runs it with uvicorn. The request is the one place that commits
(`subsidy.api.security.unit_of_work`). Every response carries the security headers
(`subsidy.api.headers`, around the whole stack); /metrics answers whom the settings allow
(`subsidy.api.operations`); /docs, /redoc and /openapi.json exist when QINQING_API_DOCS says so
(by default everywhere but production). Settings that cannot be used stop the factory with one
line on stderr (exit status 2), also when uvicorn imports it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import Depends, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp

from matching import service as matching_service
from matching.endpoints import router as qualifications
from matching.officer_endpoints import router as policy_matching
from payouts.endpoints import router as payouts
from payouts.receipt_endpoints import router as receipts
from policies.endpoints import build_router as policy_router
from reports.endpoints import router as reports
from subsidy import workers
from subsidy.api import limits, openapi, operations, params, problems
from subsidy.api.admission import Admission
from subsidy.api.headers import SecurityHeaders
from subsidy.api.ratelimit import RateLimits
from subsidy.declare.endpoints import router as declarations
from subsidy.notifications.endpoints import router as notifications
from subsidy.redemption.endpoints import router as redemptions
from subsidy.settings import get_settings, settings_or_exit
from subsidy.trail.endpoints import router as audit_trail
from subsidy.web import install as install_portal


@asynccontextmanager
async def _threads_for_admitted(_: FastAPI) -> AsyncIterator[None]:
    # anyio's thread pool (40 by default), where sync endpoints and dependencies run: sized
    # like the connection pool from QINQING_MAX_IN_FLIGHT (see subsidy.api.admission).
    anyio.to_thread.current_default_thread_limiter().total_tokens = get_settings().threads
    yield


class Qinqing(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        # Outside Starlette's ServerErrorMiddleware, so that its 500 has the headers too.
        return SecurityHeaders(super().build_middleware_stack())


def create_app() -> FastAPI:
    settings = settings_or_exit()
    workers.assembled()  # a uvicorn worker process imports the factory anew
    docs = settings.docs_enabled
    app = Qinqing(
        title="Qinqing",
        summary="Policy subsidies from published rules to the firm's bank account.",
        version="0.1.0",
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        lifespan=_threads_for_admitted,
        dependencies=[Depends(params.plain_request)],  # no control character in any parameter
    )
    app.add_middleware(
        Admission,
        limit=settings.max_in_flight,
        wait=settings.admission_wait_seconds,
        retry_after=settings.overload_retry_after_seconds,
    )
    app.state.rate_limits = RateLimits.configured(settings)
    problems.install(app)
    openapi.install(app)  # every error answer documented as problem+json
    limits.install(app, settings)  # 413 before parsing and authentication
    app.include_router(qualifications)
    # Publishing also needs the matcher's "I can compile it"; `policies` cannot import it.
    app.include_router(policy_router(extra_checks=[matching_service.compile_issues]))
    app.include_router(policy_matching)
    app.include_router(redemptions)
    app.include_router(declarations)
    app.include_router(notifications)
    app.include_router(payouts)
    app.include_router(receipts)
    install_portal(app)  # the pages: same services, same roles, a cookie instead of a header
    app.include_router(reports)
    app.include_router(audit_trail)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    def metrics(request: Request) -> Response:
        operations.check_metrics(request, settings)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
