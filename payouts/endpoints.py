"""HTTP for finance and officers around the payouts, and for auditors to read them.

    officer   approves held redemptions, reverses redemptions, flags and unflags firms
    finance   starts payout runs and reads their progress, reads batches and items, corrects a
              returned redemption's account, releases one another finance user corrected,
              enters (and confirms another's) receiving account of a firm whose approved
              redemptions wait for one, uploads bank statements, reads and resolves
              reconciliation exceptions
    auditor   reads everything here; changes nothing

Lists answer a page: `limit` rows after the keyset cursor or of numbered `page`, with the whole
list's count in `X-Total-Count`.
    enterprise  nothing here

The caller is recorded as `<role>:<subject>`; maker-checker refusals are 403 `maker-checker`.
Accounts are masked in every answer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Response, UploadFile
from fastapi import Path as PathParam

from payouts import (
    accounts,
    launch,
    ledger_check,
    queries,
    reconcile,
    retry,
    reversal,
    runs,
    statements,
)
from payouts.models import ExceptionKind, ItemState
from payouts.schemas import (
    AccountIn,
    BatchOut,
    ExceptionOut,
    FlagIn,
    FlagOut,
    ItemOut,
    LedgerCheckOut,
    PayeeAccountOut,
    ResolveIn,
    ReversalOut,
    ReverseIn,
    ReviewedRedemptionOut,
    RunIn,
    RunOut,
    StatementOut,
    WaitingOut,
)
from subsidy.api.openapi import answers
from subsidy.api.paging import OptionalPage, PageNumber, PageSize, Paging, with_total
from subsidy.api.params import After, Before, PolicyIdQuery, RowId, Uscc, UsccQuery
from subsidy.api.security import DbSession, allow
from subsidy.auth import Principal, Role
from subsidy.redemption import approval
from subsidy.redemption.models import RedemptionStatus

router = APIRouter(prefix="/api/v1", tags=["payouts"])

Officer = Annotated[Principal, Depends(allow(Role.OFFICER))]
Finance = Annotated[Principal, Depends(allow(Role.FINANCE))]
PayoutReader = Annotated[Principal, Depends(allow(*queries.READERS))]
RedemptionReader = Annotated[Principal, Depends(allow(*queries.REDEMPTION_READERS))]
FlagReader = Annotated[Principal, Depends(allow(Role.OFFICER, Role.AUDITOR))]
Limit = Annotated[int, Query(ge=1, le=queries.MAX_PAGE)]


def _offset(page: int | None, limit: int) -> int:
    return (page - 1) * limit if page else 0


# --- payout runs -----------------------------------------------------------------------------


@router.post("/payout-runs", response_model=RunOut, status_code=202, responses=answers(409))
def start_run(body: RunIn, me: Finance, session: DbSession, background: BackgroundTasks) -> RunOut:
    """Start a payout run as `qinqing payouts run` does: gather every approved redemption into
    batches per bank and pay them. 202: follow it at /payout-runs/{id}; 409 while another run
    is still gathering."""
    started = launch.start(session, by=me.actor, batch_size=body.batch_size)
    found = runs.progress(session, started.run_id)
    if started.run_after_answer is not None:
        background.add_task(started.run_after_answer)
    return RunOut.of(found)


@router.get("/payout-runs", response_model=list[RunOut])
def list_runs(
    _: PayoutReader,
    session: DbSession,
    response: Response,
    page: PageNumber = 1,
    size: PageSize = 50,
) -> list[RunOut]:
    """Newest first, each with its progress."""
    paging = Paging(page, size)
    found, total = runs.runs(session, offset=paging.offset, limit=paging.size)
    with_total(response, total)
    return [RunOut.of(runs.progress(session, r.id or 0)) for r in found]


@router.get("/payout-runs/{run_id}", response_model=RunOut)
def one_run(run_id: RowId, _: PayoutReader, session: DbSession) -> RunOut:
    """How far the run got: its batches, and their items by state (paid, returned, ...)."""
    return RunOut.of(runs.progress(session, run_id))


# --- bank statements -------------------------------------------------------------------------


@router.post("/bank-statements", response_model=StatementOut, status_code=201)
def upload_statement(file: UploadFile, me: Finance, session: DbSession) -> StatementOut:
    """Reconcile a bank statement (CSV or XLSX, the layout `qinqing payouts reconcile` reads):
    the lines matched and the exceptions raised. The same file again records nothing (its
    first reconciliation is answered, `repeated`). 422 `bad-statement` lists every problem."""
    done = statements.reconcile_upload(session, file.filename, file.file.read(), by=me.actor)
    found = statements.statement(session, statements.digest_of(done))
    return StatementOut.of(found, repeated=done.repeated)


@router.get("/bank-statements", response_model=list[StatementOut])
def list_statements(
    _: PayoutReader,
    session: DbSession,
    response: Response,
    page: PageNumber = 1,
    size: PageSize = 50,
) -> list[StatementOut]:
    paging = Paging(page, size)
    found, total = statements.statements(session, offset=paging.offset, limit=paging.size)
    with_total(response, total)
    return [StatementOut.of(s) for s in found]


@router.get("/bank-statements/{sha256}", response_model=StatementOut)
def one_statement(
    sha256: Annotated[str, PathParam(min_length=64, max_length=64)],
    _: PayoutReader,
    session: DbSession,
) -> StatementOut:
    return StatementOut.of(statements.statement(session, sha256))


# --- redemptions waiting for a receiving account ---------------------------------------------


@router.get("/payee-accounts/waiting", response_model=list[WaitingOut])
def waiting_for_account(
    _: PayoutReader,
    session: DbSession,
    response: Response,
    page: PageNumber = 1,
    size: PageSize = 200,
) -> list[WaitingOut]:
    """Approved redemptions no payout run can pay: the firm has no account a bank takes."""
    paging = Paging(page, size)
    found, total = accounts.waiting(session, offset=paging.offset, limit=paging.size)
    with_total(response, total)
    return [WaitingOut.of(w) for w in found]


@router.put("/payee-accounts/{uscc}", response_model=PayeeAccountOut, responses=answers(409))
def enter_account(uscc: Uscc, body: AccountIn, me: Finance, session: DbSession) -> PayeeAccountOut:
    """Enter the receiving account of a firm whose approved redemptions wait for one; another
    finance user confirms it before any run pays to it."""
    return PayeeAccountOut.of(accounts.enter(session, uscc, body.account, by=me.actor))


@router.post(
    "/payee-accounts/{uscc}/confirm", response_model=PayeeAccountOut, responses=answers(409)
)
def confirm_account(uscc: Uscc, me: Finance, session: DbSession) -> PayeeAccountOut:
    """Confirm another finance user's entry (403 `maker-checker` for your own)."""
    return PayeeAccountOut.of(accounts.confirm(session, uscc, by=me.actor))


# --- batches ---------------------------------------------------------------------------------


@router.get("/payout-batches", response_model=list[BatchOut])
def list_batches(
    _: PayoutReader,
    session: DbSession,
    response: Response,
    limit: Limit = 50,
    before: Before = None,
    page: OptionalPage = None,
) -> list[BatchOut]:
    """Newest first, each with its items counted and totalled by state; page back with
    `before` = the last id seen, or by `page`."""
    with_total(response, queries.count_batches(session))
    found = queries.batches(session, limit=limit, before=before, offset=_offset(page, limit))
    return [BatchOut.of(b) for b in found]


@router.get("/payout-batches/{batch_id}", response_model=BatchOut)
def one_batch(batch_id: RowId, _: PayoutReader, session: DbSession) -> BatchOut:
    return BatchOut.of(queries.batch(session, batch_id))


@router.get("/payout-batches/{batch_id}/items", response_model=list[ItemOut])
def batch_items(
    batch_id: RowId,
    _: PayoutReader,
    session: DbSession,
    response: Response,
    state: ItemState | None = None,
    limit: Limit = 200,
    after: After = None,
    page: OptionalPage = None,
) -> list[ItemOut]:
    """The batch's items in id order (of one state when given), accounts masked."""
    found = queries.items(
        session, batch_id, state=state, limit=limit, after=after, offset=_offset(page, limit)
    )
    with_total(response, queries.count_items(session, batch_id, state=state))
    return [ItemOut.of(i) for i in found]


# --- redemptions -----------------------------------------------------------------------------


@router.get("/redemptions", response_model=list[ReviewedRedemptionOut])
def list_redemptions(
    _: RedemptionReader,
    session: DbSession,
    response: Response,
    status: RedemptionStatus | None = None,
    policy_id: PolicyIdQuery = None,
    uscc: UsccQuery = None,
    limit: Limit = 200,
    after: After = None,
    page: OptionalPage = None,
) -> list[ReviewedRedemptionOut]:
    """Redemptions in id order: `status=held` for those awaiting approval, `status=returned`
    for those finance must correct."""
    found = queries.redemptions(
        session,
        status=status,
        policy_id=policy_id,
        uscc=uscc,
        limit=limit,
        after=after,
        offset=_offset(page, limit),
    )
    total = queries.count_redemptions(session, status=status, policy_id=policy_id, uscc=uscc)
    with_total(response, total)
    return [ReviewedRedemptionOut.of(r) for r in found]


@router.post(
    "/redemptions/{redemption_id}/approve",
    response_model=ReviewedRedemptionOut,
    responses=answers(409),
)
def approve(redemption_id: RowId, me: Officer, session: DbSession) -> ReviewedRedemptionOut:
    """held -> approved, by an officer other than its maker (403 `maker-checker`)."""
    return ReviewedRedemptionOut.of(approval.approve(session, redemption_id, by=me.actor))


@router.post(
    "/redemptions/{redemption_id}/reverse", response_model=ReversalOut, responses=answers(409)
)
def reverse(redemption_id: RowId, body: ReverseIn, me: Officer, session: DbSession) -> ReversalOut:
    """Reverse a redemption for a reason: its budget is released; money already paid becomes
    owed by the firm (a clawback). 409 while it is being paid, or when already reversed."""
    done = reversal.reverse(session, redemption_id, body.reason, by=me.actor)
    return ReversalOut.of(done)


@router.put(
    "/redemptions/{redemption_id}/account",
    response_model=ReviewedRedemptionOut,
    responses=answers(409),
)
def correct_account(
    redemption_id: RowId, body: AccountIn, me: Finance, session: DbSession
) -> ReviewedRedemptionOut:
    """Correct the bank account of a returned redemption; another finance user releases it."""
    done = retry.correct_account(session, redemption_id, body.account, by=me.actor)
    return ReviewedRedemptionOut.of(done)


@router.post(
    "/redemptions/{redemption_id}/release",
    response_model=ReviewedRedemptionOut,
    responses=answers(409),
)
def release(redemption_id: RowId, me: Finance, session: DbSession) -> ReviewedRedemptionOut:
    """returned -> approved, to be paid by the next payout run; not by whoever corrected it."""
    return ReviewedRedemptionOut.of(retry.release(session, redemption_id, by=me.actor))


# --- firm flags ------------------------------------------------------------------------------


@router.get("/firm-flags", response_model=list[FlagOut])
def list_flags(_: FlagReader, session: DbSession) -> list[FlagOut]:
    return [FlagOut.of(f) for f in approval.flags(session)]


@router.put("/firm-flags/{uscc}", response_model=FlagOut)
def flag_firm(uscc: Uscc, body: FlagIn, me: Officer, session: DbSession) -> FlagOut:
    """Flag a firm for review (or change the reason): its new redemptions are held."""
    return FlagOut.of(approval.flag(session, uscc, body.reason, by=me.actor))


@router.delete("/firm-flags/{uscc}", status_code=204)
def unflag_firm(uscc: Uscc, me: Officer, session: DbSession) -> Response:
    """Lift a firm's flag; redemptions already held stay held until approved."""
    approval.unflag(session, uscc, by=me.actor)
    return Response(status_code=204)


# --- reconciliation and the ledger -----------------------------------------------------------


@router.get("/reconciliation-exceptions", response_model=list[ExceptionOut])
def list_exceptions(
    _: PayoutReader,
    session: DbSession,
    response: Response,
    resolved: bool | None = None,
    kind: ExceptionKind | None = None,
    limit: Limit = 200,
    after: After = None,
    page: OptionalPage = None,
) -> list[ExceptionOut]:
    """In id order; `resolved=false` for what is still to do."""
    found = queries.exceptions(
        session, resolved=resolved, kind=kind, limit=limit, after=after, offset=_offset(page, limit)
    )
    with_total(response, queries.count_exceptions(session, resolved=resolved, kind=kind))
    return [ExceptionOut.of(e) for e in found]


@router.post(
    "/reconciliation-exceptions/{exception_id}/resolve",
    response_model=ExceptionOut,
    responses=answers(409),
)
def resolve_exception(
    exception_id: RowId, body: ResolveIn, me: Finance, session: DbSession
) -> ExceptionOut:
    return ExceptionOut.of(reconcile.resolve(session, exception_id, body.note, by=me.actor))


@router.get("/ledger/check", response_model=LedgerCheckOut)
def check_ledger(_: PayoutReader, session: DbSession) -> LedgerCheckOut:
    """Whether the ledger and the operational tables add up; every imbalance named."""
    return LedgerCheckOut.of(ledger_check.check(session))
