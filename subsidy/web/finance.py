"""Finance's daily work in the portal: payout runs and their progress, the batches they made,
bank statements and their reconciliation, the exceptions it raised (resolved with a note), and
the approved redemptions waiting for a receiving account.

The same services as the API (`payouts.launch`, `payouts.runs`, `payouts.queries`,
`payouts.statements`, `payouts.reconcile`, `payouts.accounts`), the same roles: finance acts,
auditors read (`payouts.queries.READERS`). A run is started as the API starts one: queued by
the request, its task enqueued once the request commits (without a broker, run in this process
once the answer has gone), its page polled with htmx until it is finished. A refusal is a
`PageRefusal` (the unit of work rolls back).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from starlette.background import BackgroundTask

from payouts import accounts, launch, queries, reconcile, runs, statements
from payouts import errors as payout_errors
from payouts.gateways.errors import BankFileError
from subsidy.api.params import RowId, Uscc
from subsidy.api.security import DbSession
from subsidy.auth import Principal
from subsidy.masking import mask
from subsidy.web.paging import pager
from subsidy.web.shared import (
    Csrf,
    Finance,
    PageRefusal,
    PayoutReader,
    back,
    not_found,
    refused,
)
from subsidy.web.templating import language, render

router = APIRouter(include_in_schema=False)

Sha256 = Annotated[str, PathParam(min_length=64, max_length=64, pattern="^[0-9a-f]{64}$")]
ITEMS_PER_PAGE = 200


def _refused(
    request: Request, me: Principal, exc: payout_errors.PayoutError, back: str
) -> PageRefusal:
    maker_checker = isinstance(exc, payout_errors.MakerChecker)
    return refused(
        request, me, exc.message_in(language(request)), back, maker_checker=maker_checker
    )


# --- payout runs -----------------------------------------------------------------------------


@router.get("/finance/runs", response_class=HTMLResponse)
def run_list(request: Request, me: PayoutReader, session: DbSession) -> HTMLResponse:
    _, total = runs.runs(session, offset=0, limit=0)
    paged = pager(request, total)
    found, _ = runs.runs(session, offset=paged.offset, limit=paged.size)
    progress = [runs.progress(session, r.id or 0) for r in found]
    return render(request, "finance_runs.html", {"runs": progress, "pager": paged}, me=me)


@router.post("/finance/runs", dependencies=[Csrf])
def start_run(request: Request, me: Finance, session: DbSession) -> Response:
    """Start a payout run (as `qinqing payouts run`) and follow it on its page."""
    try:
        started = launch.start(session, by=me.actor)
    except payout_errors.PayoutError as exc:
        raise _refused(request, me, exc, "/finance/runs") from exc
    run = started.run_after_answer
    return back(f"/finance/runs/{started.run_id}", BackgroundTask(run) if run else None)


@router.get("/finance/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: RowId, me: PayoutReader, session: DbSession) -> Response:
    try:
        found = runs.progress(session, run_id)
    except payout_errors.PayoutNotFound:
        return not_found(request, me)
    return render(request, "finance_run.html", _run_context(session, found), me=me)


@router.get("/finance/runs/{run_id}/progress", response_class=HTMLResponse)
def run_progress(request: Request, run_id: RowId, me: PayoutReader, session: DbSession) -> Response:
    """The run's progress alone: its page polls it until the run is finished."""
    try:
        found = runs.progress(session, run_id)
    except payout_errors.PayoutNotFound:
        return not_found(request, me)
    return render(request, "_run_progress.html", _run_context(session, found), me=me)


def _run_context(session: DbSession, found: runs.Progress) -> dict[str, Any]:
    run_id = found.run.id
    batches = queries.batches(session, limit=queries.MAX_PAGE, run_id=run_id)
    return {"progress": found, "batches": batches}


# --- bank statements -------------------------------------------------------------------------


@router.get("/finance/statements", response_class=HTMLResponse)
def statement_list(request: Request, me: PayoutReader, session: DbSession) -> HTMLResponse:
    return _statements_page(request, me, session)


def _statements_page(
    request: Request,
    me: Principal,
    session: DbSession,
    *,
    problems: BankFileError | None = None,
    refusal: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    _, total = statements.statements(session, offset=0, limit=0)
    paged = pager(request, total)
    found, _ = statements.statements(session, offset=paged.offset, limit=paged.size)
    context = {"statements": found, "pager": paged, "problems": problems, "refusal": refusal}
    return render(request, "finance_statements.html", context, status=status, me=me)


@router.post("/finance/statements", dependencies=[Csrf])
def upload_statement(
    request: Request,
    me: Finance,
    session: DbSession,
    statement: Annotated[UploadFile, File()],
) -> Response:
    """Reconcile the uploaded statement and show what it came to; a file that cannot be read:
    the form again with every problem located (nothing recorded)."""
    try:
        done = statements.reconcile_upload(
            session, statement.filename, statement.file.read(), by=me.actor
        )
    except BankFileError as exc:
        page = _statements_page(request, me, session, problems=exc, status=422)
        raise PageRefusal(page) from exc
    except payout_errors.PayoutError as exc:
        refusal = exc.message_in(language(request))
        page = _statements_page(request, me, session, refusal=refusal, status=422)
        raise PageRefusal(page) from exc
    repeated = "?repeated=1" if done.repeated else ""
    return back(f"/finance/statements/{statements.digest_of(done)}{repeated}")


@router.get("/finance/statements/{sha256}", response_class=HTMLResponse)
def statement_page(
    request: Request, sha256: Sha256, me: PayoutReader, session: DbSession
) -> Response:
    """A statement's reconciliation: its lines matched and the exceptions it raised."""
    try:
        found = statements.statement(session, sha256)
    except payout_errors.PayoutNotFound:
        return not_found(request, me)
    total = queries.count_exceptions(session, statement=found.name)
    paged = pager(request, total)
    exceptions = queries.exceptions(
        session, statement=found.name, limit=paged.size, offset=paged.offset
    )
    context = {
        "statement": found,
        "exceptions": exceptions,
        "pager": paged,
        "repeated": request.query_params.get("repeated") == "1",
    }
    return render(request, "finance_statement.html", context, me=me)


# --- approved redemptions waiting for a receiving account ------------------------------------


@router.get("/finance/accounts", response_class=HTMLResponse)
def waiting_accounts(
    request: Request, me: PayoutReader, session: DbSession, done: str | None = None
) -> HTMLResponse:
    _, total = accounts.waiting(session, offset=0, limit=0)
    paged = pager(request, total)
    found, _ = accounts.waiting(session, offset=paged.offset, limit=paged.size)
    context = {"waiting": found, "pager": paged, "mask": mask, "done": done}
    return render(request, "finance_accounts.html", context, me=me)


@router.post("/finance/accounts/{uscc}", dependencies=[Csrf])
def enter_account(
    request: Request,
    uscc: Uscc,
    me: Finance,
    session: DbSession,
    account: Annotated[str, Form(min_length=8, max_length=64)],
) -> Response:
    by = me.actor
    return _account_step(
        request, me, lambda: accounts.enter(session, uscc, account, by=by), "entered"
    )


@router.post("/finance/accounts/{uscc}/confirm", dependencies=[Csrf])
def confirm_account(request: Request, uscc: Uscc, me: Finance, session: DbSession) -> Response:
    """Confirm another finance user's entry: the next payout run pays the firm to it."""
    by = me.actor
    return _account_step(request, me, lambda: accounts.confirm(session, uscc, by=by), "confirmed")


def _account_step(
    request: Request, me: Principal, step: Callable[[], object], done: str
) -> Response:
    try:
        step()
    except payout_errors.PayoutError as exc:
        raise _refused(request, me, exc, "/finance/accounts") from exc
    return back(f"/finance/accounts?done={done}")


# --- payout batches and reconciliation exceptions ---------------------------------------------
@router.get("/finance/batches", response_class=HTMLResponse)
def batches(request: Request, me: PayoutReader, session: DbSession) -> HTMLResponse:
    return render(request, "finance_batches.html", _batch_page(request, session), me=me)


@router.get("/finance/batches/table", response_class=HTMLResponse)
def batches_table(request: Request, me: PayoutReader, session: DbSession) -> HTMLResponse:
    """The batches table alone (of the page shown): the page polls it while a batch is open."""
    return render(request, "_batches.html", _batch_page(request, session), me=me)


def _batch_page(request: Request, session: DbSession) -> dict[str, object]:
    paged = pager(request, queries.count_batches(session), path="/finance/batches")
    found = queries.batches(session, limit=paged.size, offset=paged.offset)
    return {"batches": found, "pager": paged}


@router.get("/finance/batches/{batch_id}", response_class=HTMLResponse)
def batch(request: Request, batch_id: RowId, me: PayoutReader, session: DbSession) -> HTMLResponse:
    try:
        summary = queries.batch(session, batch_id)
        paged = pager(request, queries.count_items(session, batch_id), size=ITEMS_PER_PAGE)
        items = queries.items(session, batch_id, limit=paged.size, offset=paged.offset)
    except payout_errors.PayoutError:
        return not_found(request, me)
    context = {"summary": summary, "items": items, "mask": mask, "pager": paged}
    return render(request, "finance_batch.html", context, me=me)


@router.get("/finance/exceptions", response_class=HTMLResponse)
def exceptions(
    request: Request, me: PayoutReader, session: DbSession, resolved: bool = False
) -> HTMLResponse:
    which = None if resolved else False
    paged = pager(request, queries.count_exceptions(session, resolved=which))
    found = queries.exceptions(session, resolved=which, limit=paged.size, offset=paged.offset)
    context = {"exceptions": found, "show_resolved": resolved, "pager": paged}
    return render(request, "finance_exceptions.html", context, me=me)


@router.post("/finance/exceptions/{exception_id}/resolve", dependencies=[Csrf])
def resolve(
    request: Request,
    exception_id: RowId,
    me: Finance,
    session: DbSession,
    note: Annotated[str, Form(min_length=1, max_length=500)],
) -> Response:
    try:
        reconcile.resolve(session, exception_id, note, by=me.actor)
    except payout_errors.PayoutError as exc:
        raise refused(
            request, me, exc.message_in(language(request)), "/finance/exceptions"
        ) from exc
    return back("/finance/exceptions")
