"""The maker-checker review of redemptions: the held ones (an officer other than their maker
approves them) and the returned ones (finance corrects the account; another finance user
releases the redemption to be paid again).

The same services and roles as the API's /api/v1/redemptions: officers, finance and auditors
read the queue (`payouts.queries.REDEMPTION_READERS`), officers approve, finance corrects and
releases. A refusal is a `PageRefusal` (the unit of work rolls back) saying which rule refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from payouts import errors as payout_errors
from payouts import queries, retry
from policies import service as policy_service
from subsidy.api.params import RowId
from subsidy.api.security import DbSession
from subsidy.auth import Principal
from subsidy.masking import mask
from subsidy.redemption import approval
from subsidy.redemption.models import Redemption, RedemptionStatus
from subsidy.web.paging import pager
from subsidy.web.shared import Csrf, Finance, Officer, RedemptionReader, back, refused
from subsidy.web.templating import language, render

router = APIRouter(include_in_schema=False)


@router.get("/review", response_class=HTMLResponse)
def review(
    request: Request, me: RedemptionReader, session: DbSession, done: str | None = None
) -> HTMLResponse:
    context: dict[str, object] = {"mask": mask, "done": done}
    shown: set[str] = set()
    for name, status in (("held", RedemptionStatus.HELD), ("returned", RedemptionStatus.RETURNED)):
        paged = pager(request, queries.count_redemptions(session, status=status), param=name)
        rows = queries.redemptions(session, status=status, limit=paged.size, offset=paged.offset)
        context[name], context[f"{name}_pager"] = rows, paged
        shown |= {r.policy_id for r in rows}
    context["titles"] = policy_service.titles(session, shown, language(request))
    return render(request, "review.html", context, me=me)


@router.post("/review/{redemption_id}/approve", dependencies=[Csrf])
def approve(request: Request, redemption_id: RowId, me: Officer, session: DbSession) -> Response:
    """held -> approved, by an officer other than its maker."""
    by = me.actor
    return _reviewed(
        request, me, lambda: approval.approve(session, redemption_id, by=by), "approved"
    )


@router.post("/review/{redemption_id}/account", dependencies=[Csrf])
def correct_account(
    request: Request,
    redemption_id: RowId,
    me: Finance,
    session: DbSession,
    account: Annotated[str, Form(min_length=8, max_length=64)],
) -> Response:
    by = me.actor
    return _reviewed(
        request,
        me,
        lambda: retry.correct_account(session, redemption_id, account, by=by),
        "corrected",
    )


@router.post("/review/{redemption_id}/release", dependencies=[Csrf])
def release(request: Request, redemption_id: RowId, me: Finance, session: DbSession) -> Response:
    """returned -> approved, by a finance user other than whoever corrected the account."""
    by = me.actor
    return _reviewed(request, me, lambda: retry.release(session, redemption_id, by=by), "released")


def _reviewed(
    request: Request, me: Principal, act: Callable[[], Redemption], done: str
) -> Response:
    try:
        changed = act()
    except payout_errors.PayoutError as exc:
        maker_checker = isinstance(exc, payout_errors.MakerChecker)
        refusal = exc.message_in(language(request))
        raise refused(request, me, refusal, "/review", maker_checker=maker_checker) from exc
    return back(f"/review?done={done}:{changed.id}")
