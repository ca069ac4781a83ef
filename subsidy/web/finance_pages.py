"""Finance's daily work in the portal: payout runs and their progress, bank statements and their
reconciliation, and the approved redemptions waiting for a receiving account.

The same services as the API (`payouts.launch`, `payouts.runs`, `payouts.statements`,
`payouts.accounts`), the same roles: finance acts, auditors read. A run is started as the API
starts one: queued by the request, its task enqueued once the request commits (without a broker,
run in this process once the answer has gone), its page polled with htmx until it is finished.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from payouts import accounts, launch, queries, runs, statements
from payouts import errors as payout_errors
from payouts.gateways.errors import BankFileError
from subsidy.api.params import RowId, Uscc
from subsidy.api.security import DbSession
from subsidy.auth import Principal, Role
from subsidy.errors import QinqingError
from subsidy.masking import mask
from subsidy.web.paging import pager
from subsidy.web.session import allow_page, csrf_checked
from subsidy.web.templating import language, render

router = APIRouter(include_in_schema=False)

Finance = Annotated[Principal, Depends(allow_page(Role.FINANCE))]
PayoutReader = Annotated[Principal, Depends(allow_page(Role.FINANCE, Role.AUDITOR))]
Csrf = Depends(csrf_checked)
Sha256 = Annotated[str, PathParam(min_length=64, max_length=64, pattern="^[0-9a-f]{64}$")]


def _back(path: str, background: BackgroundTask | None = None) -> RedirectResponse:
    return RedirectResponse(path, status_code=303, background=background)


def _refused(
    request: Request, me: Principal, session: DbSession, exc: QinqingError, back: str
) -> HTMLResponse:
    session.rollback()
    maker_checker = isinstance(exc, payout_errors.MakerChecker)
    context = {
        "refusal": exc.message_in(language(request)),
        "maker_checker": maker_checker,
        "back": back,
    }
    return render(request, "error.html", context, status=409, me=me)


def _not_found(request: Request, me: Principal) -> HTMLResponse:
    return render(request, "error.html", {"message": "not_found"}, status=404, me=me)


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
        return _refused(request, me, session, exc, "/finance/runs")
    run = started.run_after_answer
    return _back(f"/finance/runs/{started.run_id}", BackgroundTask(run) if run else None)


@router.get("/finance/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: RowId, me: PayoutReader, session: DbSession) -> Response:
    try:
        found = runs.progress(session, run_id)
    except payout_errors.PayoutNotFound:
        return _not_found(request, me)
    return render(request, "finance_run.html", _run_context(session, found), me=me)


@router.get("/finance/runs/{run_id}/progress", response_class=HTMLResponse)
def run_progress(request: Request, run_id: RowId, me: PayoutReader, session: DbSession) -> Response:
    """The run's progress alone: its page polls it until the run is finished."""
    try:
        found = runs.progress(session, run_id)
    except payout_errors.PayoutNotFound:
        return _not_found(request, me)
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
        session.rollback()
        return _statements_page(request, me, session, problems=exc, status=422)
    except payout_errors.PayoutError as exc:
        session.rollback()
        return _statements_page(
            request, me, session, refusal=exc.message_in(language(request)), status=422
        )
    repeated = "?repeated=1" if done.repeated else ""
    return _back(f"/finance/statements/{statements.digest_of(done)}{repeated}")


@router.get("/finance/statements/{sha256}", response_class=HTMLResponse)
def statement_page(
    request: Request, sha256: Sha256, me: PayoutReader, session: DbSession
) -> Response:
    """A statement's reconciliation: its lines matched and the exceptions it raised."""
    try:
        found = statements.statement(session, sha256)
    except payout_errors.PayoutNotFound:
        return _not_found(request, me)
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
        request, me, session, lambda: accounts.enter(session, uscc, account, by=by), "entered"
    )


@router.post("/finance/accounts/{uscc}/confirm", dependencies=[Csrf])
def confirm_account(request: Request, uscc: Uscc, me: Finance, session: DbSession) -> Response:
    """Confirm another finance user's entry: the next payout run pays the firm to it."""
    by = me.actor
    return _account_step(
        request, me, session, lambda: accounts.confirm(session, uscc, by=by), "confirmed"
    )


def _account_step(
    request: Request,
    me: Principal,
    session: DbSession,
    step: Callable[[], object],
    done: str,
) -> Response:
    try:
        step()
    except payout_errors.PayoutError as exc:
        return _refused(request, me, session, exc, "/finance/accounts")
    return _back(f"/finance/accounts?done={done}")
