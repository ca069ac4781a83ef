"""The FastAPI application: every domain's router, problem details, health and metrics, and the
web portal (`subsidy.web`).

`qinqing serve` runs it with uvicorn. The request is the one place that commits
(`subsidy.api.security.unit_of_work`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from matching import service as matching_service
from matching.endpoints import router as qualifications
from matching.officer_endpoints import router as policy_matching
from payouts.endpoints import router as payouts
from policies.endpoints import build_router as policy_router
from reports.endpoints import router as reports
from subsidy.api import problems
from subsidy.api.admission import Admission
from subsidy.api.ratelimit import RateLimits
from subsidy.notifications.endpoints import router as notifications
from subsidy.redemption.endpoints import router as redemptions
from subsidy.settings import get_settings
from subsidy.web import install as install_portal


@asynccontextmanager
async def _threads_for_admitted(_: FastAPI) -> AsyncIterator[None]:
    # anyio's thread pool (40 by default), where sync endpoints and dependencies run: sized
    # like the connection pool from QINQING_MAX_IN_FLIGHT (see subsidy.api.admission).
    anyio.to_thread.current_default_thread_limiter().total_tokens = get_settings().threads
    yield


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        title="Qinqing",
        summary="Policy subsidies from published rules to the firm's bank account.",
        version="0.1.0",
        lifespan=_threads_for_admitted,
    )
    app.add_middleware(
        Admission,
        limit=settings.max_in_flight,
        wait=settings.admission_wait_seconds,
        retry_after=settings.overload_retry_after_seconds,
    )
    app.state.rate_limits = RateLimits.configured(settings)
    problems.install(app)
    app.include_router(qualifications)
    # Publishing also needs the matcher's "I can compile it"; `policies` cannot import it.
    app.include_router(policy_router(extra_checks=[matching_service.compile_issues]))
    app.include_router(policy_matching)
    app.include_router(redemptions)
    app.include_router(notifications)
    app.include_router(payouts)
    install_portal(app)  # the pages: same services, same roles, a cookie instead of a header
    app.include_router(reports)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
