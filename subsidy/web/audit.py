"""The auditor's audit trail in the portal: the entries filtered by subject, actor, action and
day, a page at a time with personal data masked; "verify the chain" (the same `verify` as
`qinqing audit verify`); and the filtered entries exported as CSV or XLSX (never a formula).

Auditors only, as the API's /api/v1/audit-entries (`subsidy.trail.endpoints.READERS`, where why
finance may not read it is said).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from subsidy import localtime
from subsidy.api.security import DbSession
from subsidy.audit import queries
from subsidy.audit import service as audit
from subsidy.auth import Principal
from subsidy.trail import export
from subsidy.trail.endpoints import READERS
from subsidy.web.paging import pager
from subsidy.web.session import allow_page, page_rate_limited
from subsidy.web.shared import Csrf, not_found
from subsidy.web.templating import render

router = APIRouter(include_in_schema=False)

Auditor = Annotated[Principal, Depends(allow_page(*READERS))]
AuditLimit = Depends(page_rate_limited("audit"))
FIELDS = ("subject", "actor", "action", "from", "to")
MAX_TEXT = 200


def _form(request: Request) -> tuple[dict[str, str], queries.Filter, dict[str, str]]:
    """The filter form as sent, the filter it means, and the fields that are not valid (a day
    is YYYY-MM-DD; `to` includes its day)."""
    sent = {f: request.query_params.get(f, "").strip()[:MAX_TEXT] for f in FIELDS}
    errors: dict[str, str] = {}
    days: dict[str, dt.datetime | None] = {}
    for field in ("from", "to"):
        days[field] = None
        if sent[field]:
            try:
                day = dt.date.fromisoformat(sent[field])
            except ValueError:
                errors[field] = "audit.bad_day"
                continue
            days[field] = dt.datetime.combine(
                day, dt.time(), tzinfo=localtime.zone()
            )  # the day users read
    until = days["to"] + dt.timedelta(days=1) if days["to"] else None
    wanted = queries.Filter(
        sent["subject"] or None, sent["actor"] or None, sent["action"] or None, days["from"], until
    )
    return sent, wanted, errors


def _page(request: Request, me: Principal, session: DbSession, **more: Any) -> HTMLResponse:
    sent, wanted, errors = _form(request)
    if errors:
        context = {"form": sent, "errors": errors, "entries": [], "pager": None} | more
        return render(request, "audit.html", context, status=422, me=me)
    _, total = queries.entries(session, wanted, offset=0, limit=0)
    paged = pager(request, total, path="/audit")
    found, _ = queries.entries(session, wanted, offset=paged.offset, limit=paged.size)
    query = request.url.query
    context = {
        "form": sent,
        "errors": {},
        "entries": found,
        "pager": paged,
        "export_query": "&".join(p for p in query.split("&") if not p.startswith("page=")),
        "as_json": export.as_json,
    } | more
    return render(request, "audit.html", context, me=me)


@router.get("/audit", response_class=HTMLResponse)
def trail(request: Request, me: Auditor, session: DbSession) -> HTMLResponse:
    return _page(request, me, session)


@router.post("/audit/verify", dependencies=[AuditLimit, Csrf])
def verify(request: Request, me: Auditor, session: DbSession) -> Response:
    """Verify the chain now: intact, or the first entry or checkpoint that does not hold (with
    htmx only the verdict; without, the page with it)."""
    verdict = audit.verify(session)
    if request.headers.get("HX-Request"):
        return render(request, "_audit_verdict.html", {"verdict": verdict}, me=me)
    return _page(request, me, session, verdict=verdict)


@router.get("/audit/export.{fmt}", dependencies=[AuditLimit])
def export_entries(request: Request, fmt: str, me: Auditor, session: DbSession) -> Response:
    """The entries the form filters, every one in chain order, as CSV or XLSX."""
    _, wanted, errors = _form(request)
    if fmt not in export.MEDIA_TYPES:
        return not_found(request, me)
    if errors:
        return _page(request, me, session)
    body = export.write("csv" if fmt == "csv" else "xlsx", queries.every(session, wanted))
    return Response(
        body,
        media_type=export.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="audit-entries.{fmt}"'},
    )
