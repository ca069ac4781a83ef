"""GET /api/v1/audit-entries (filtered, paged), its export, and the chain's verification.

Auditors only. Finance, officers and firms are refused (403): the trail is the evidence of what
they did (maker-checker, corrections, payments), read by someone independent of them; it also
holds every role's sign-ins, which no other role needs. Personal data is masked in every entry.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from subsidy.api.openapi import answers
from subsidy.api.paging import PageNumber, PageSize, Paging, with_total
from subsidy.api.ratelimit import rate_limited
from subsidy.api.security import DbSession, allow
from subsidy.audit import queries
from subsidy.audit import service as audit
from subsidy.auth import Principal, Role
from subsidy.trail import export
from subsidy.trail.schemas import AuditEntryOut, VerdictOut

READERS = (Role.AUDITOR,)
"""Who reads the audit trail; the portal's /audit admits exactly these."""

router = APIRouter(prefix="/api/v1", tags=["audit"])
Auditor = Annotated[Principal, Depends(allow(*READERS))]
Text = Annotated[str | None, Query(min_length=1, max_length=200)]
Since = Annotated[
    dt.datetime | None, Query(alias="from", description="Entries at or after (UTC if naive).")
]
Until = Annotated[
    dt.datetime | None, Query(alias="to", description="Entries before (UTC if naive).")
]


def audit_filter(
    subject: Text = None,
    actor: Text = None,
    action: Text = None,
    since: Since = None,
    until: Until = None,
) -> queries.Filter:
    """Subject, actor and action match exactly, or as a prefix when they end in `*`."""
    return queries.Filter(subject, actor, action, _aware(since), _aware(until))


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


Filtered = Annotated[queries.Filter, Depends(audit_filter)]


@router.get("/audit-entries", response_model=list[AuditEntryOut])
def list_entries(
    _: Auditor,
    session: DbSession,
    response: Response,
    wanted: Filtered,
    page: PageNumber = 1,
    size: PageSize = 100,
) -> list[AuditEntryOut]:
    """Newest first; the number matching in `X-Total-Count`."""
    paging = Paging(page, size)
    found, total = queries.entries(session, wanted, offset=paging.offset, limit=paging.size)
    with_total(response, total)
    return [AuditEntryOut.of(e) for e in found]


@router.get(
    "/audit-entries/export",
    dependencies=[Depends(rate_limited("audit"))],
    responses={
        **answers(429),
        200: {"content": {export.MEDIA_TYPES["xlsx"]: {}, "text/csv": {}}},
    },
)
def export_entries(
    _: Auditor,
    session: DbSession,
    wanted: Filtered,
    format: Literal["csv", "xlsx"] = "csv",
) -> Response:
    """Every matching entry in chain order, as CSV or XLSX (no cell is a formula)."""
    body = export.write(format, queries.every(session, wanted))
    return Response(
        body,
        media_type=export.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="audit-entries.{format}"'},
    )


@router.post(
    "/audit-chain/verification",
    response_model=VerdictOut,
    dependencies=[Depends(rate_limited("audit"))],
    responses=answers(429),
)
def verify_chain(_: Auditor, session: DbSession) -> VerdictOut:
    """Recompute the keyed chain and hold it against every checkpoint, as `qinqing audit
    verify` does: intact, or the first entry or checkpoint that does not hold."""
    return VerdictOut.of(audit.verify(session))
