"""What the audiences' page modules share: who may open a page (each domain's role tuple, the
same its API routes admit), the CSRF lock, and the answers every page gives.

A refusal a page explains is raised as `PageRefusal`, carrying the page that explains it: the
request's unit of work (`subsidy.api.security.unit_of_work`, which the exception passes through
on its way out) rolls back, so nothing a refused service flushed is committed, and the handler
`subsidy.web.install` registers sends the page. No page rolls back by hand.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from payouts import queries as payout_queries
from payouts import receipts
from policies import drafts
from policies import service as policy_service
from reports import service as report_service
from subsidy.auth import Principal, Role
from subsidy.web.session import allow_page, csrf_checked
from subsidy.web.templating import render

Firm = Annotated[Principal, Depends(allow_page(Role.ENTERPRISE))]
Officer = Annotated[Principal, Depends(allow_page(*policy_service.EDITORS))]
Finance = Annotated[Principal, Depends(allow_page(Role.FINANCE))]
PolicyReader = Annotated[Principal, Depends(allow_page(*policy_service.READERS))]
DraftReader = Annotated[Principal, Depends(allow_page(*drafts.READERS))]
PayoutReader = Annotated[Principal, Depends(allow_page(*payout_queries.READERS))]
RedemptionReader = Annotated[Principal, Depends(allow_page(*payout_queries.REDEMPTION_READERS))]
ReceiptReader = Annotated[Principal, Depends(allow_page(*receipts.READERS))]
ReportReader = Annotated[Principal, Depends(allow_page(*report_service.READERS))]
Csrf = Depends(csrf_checked)


class PageRefusal(Exception):  # a signal to the handler, not an error to report
    """A refusal the page explains, carrying the page (`page`) that explains it.

    Raised, it passes through the request's unit of work, which rolls back; the handler then
    sends `page`. The page is rendered before that rollback: the pages that list rows with the
    refusal (statements, report jobs) call services that refuse before they write."""

    def __init__(self, page: Response) -> None:
        super().__init__(f"refused with {page.status_code}")
        self.page = page


def back(path: str, background: BackgroundTask | None = None) -> RedirectResponse:
    """See the other page (303): after a POST, the browser GETs `path`."""
    return RedirectResponse(path, status_code=303, background=background)


def not_found(request: Request, me: Principal) -> HTMLResponse:
    return render(request, "error.html", {"message": "not_found"}, status=404, me=me)


def refused(
    request: Request, me: Principal, refusal: str, back: str, **more: object
) -> PageRefusal:
    """A 409 page saying why (`refusal`, in the page's language), with the way back; `more`:
    which maker-checker rule refused it, if one did."""
    context = {"refusal": refusal, "back": back} | more
    return PageRefusal(render(request, "error.html", context, status=409, me=me))
