"""The web portal: server-rendered pages over the same services as the API.

Jinja2 templates, htmx (vendored as a static file: `static/htmx.min.js`, htmx 2.0.11 from the npm
package `htmx.org`, licence 0BSD, see `static/htmx.LICENSE`; nothing is downloaded at run time),
Chinese by default with an English switch. `install(app)` adds the pages, the static files and
the answers to "sign in first", "not for your role", "stale form" and a refusal a page explains
(`PageRefusal`, raised once the request's unit of work has it to roll back).

A module of pages per audience: `sign_in` (everyone: home, sign-in and out, the language),
`firm`, `officer` (policies and the draft editor), `review` (held and returned redemptions),
`finance`, `reports`, `audit`; what they share is in `shared`.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from subsidy.web import audit, finance, firm, officer, reports, review, sign_in
from subsidy.web.session import (
    COOKIE,
    CsrfRefused,
    PageForbidden,
    PageRateLimited,
    SignInRequired,
)
from subsidy.web.shared import PageRefusal
from subsidy.web.templating import render

ROUTERS = (
    sign_in.router,
    firm.router,
    officer.router,
    review.router,
    finance.router,
    reports.router,
    audit.router,
)
"""Every router of page routes (the role tests walk them all)."""


def install(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
    static = resources.files("subsidy.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        if request.headers.get("HX-Request"):
            response = Response(status_code=401, headers={"HX-Redirect": "/sign-in"})
        else:
            response = Response(status_code=303, headers={"Location": "/sign-in"})
        if COOKIE in request.cookies:  # the session it names has ended: forget it
            response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    @app.exception_handler(PageRefusal)
    async def _refused(request: Request, exc: PageRefusal) -> Response:
        return exc.page  # rendered by the page; the unit of work rolled back on the way here

    @app.exception_handler(PageForbidden)
    async def _forbidden(request: Request, exc: PageForbidden) -> Response:
        return render(request, "error.html", {"message": "forbidden"}, status=403)

    @app.exception_handler(CsrfRefused)
    async def _stale(request: Request, exc: CsrfRefused) -> Response:
        return render(request, "error.html", {"message": "csrf_failed"}, status=403)

    @app.exception_handler(PageRateLimited)
    async def _slow_down(request: Request, exc: PageRateLimited) -> Response:
        context = {"rate_limited": exc.retry_after}
        if request.headers.get("HX-Request"):
            # htmx swaps only 2xx answers in: the partial says it, the header says when.
            response = render(request, "_result.html", context)
        else:
            response = render(request, "error.html", context, status=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
