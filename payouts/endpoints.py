"""HTTP for finance and officers around the payouts, and for auditors to read them.

    officer   approves held redemptions, reverses redemptions, flags and unflags firms
    finance   reads batches and items, corrects a returned redemption's account, releases one
              another finance user corrected, reads and resolves reconciliation exceptions
    auditor   reads everything here; changes nothing
    enterprise  nothing here

The caller is recorded as `<role>:<subject>`; maker-checker refusals are 403 `maker-checker`.
Accounts are masked in every answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from payouts import approval, errors, ledger_check, queries, reconcile, retry, reversal
from payouts.models import ExceptionKind, ItemState
from payouts.redemptions import actor
from payouts.schemas import (
    AccountIn,
    BatchOut,
    ExceptionOut,
    FlagIn,
    FlagOut,
    ItemOut,
    LedgerCheckOut,
    ResolveIn,
    ReversalOut,
    ReverseIn,
    ReviewedRedemptionOut,
)
from subsidy.api.openapi import answers
from subsidy.api.params import After, Before, PolicyIdQuery, RowId, Uscc, UsccQuery
from subsidy.api.problems import ProblemError
from subsidy.api.security import DbSession, allow
from subsidy.auth import Principal, Role
from subsidy.redemption.models import RedemptionStatus

router = APIRouter(prefix="/api/v1", tags=["payouts"])

Officer = Annotated[Principal, Depends(allow(Role.OFFICER))]
Finance = Annotated[Principal, Depends(allow(Role.FINANCE))]
PayoutReader = Annotated[Principal, Depends(allow(Role.FINANCE, Role.AUDITOR))]
RedemptionReader = Annotated[Principal, Depends(allow(Role.OFFICER, Role.FINANCE, Role.AUDITOR))]
FlagReader = Annotated[Principal, Depends(allow(Role.OFFICER, Role.AUDITOR))]
Limit = Annotated[int, Query(ge=1, le=queries.MAX_PAGE)]


_PROBLEMS: dict[type[errors.PayoutError], tuple[int, str, str]] = {
    errors.PayoutNotFound: (404, "not-found", "Not found"),
    errors.MakerChecker: (403, "maker-checker", "Whoever made the change cannot check it"),
    errors.AlreadyReversed: (409, "already-reversed", "The redemption is already reversed"),
    errors.PaymentInFlight: (
        409,
        "payment-in-flight",
        "The redemption is being paid; wait for the batch to settle",
    ),
    errors.RedemptionStateError: (
        409,
        "redemption-state",
        "The redemption's status does not allow this",
    ),
    errors.AccountNotCorrected: (
        409,
        "account-not-corrected",
        "Correct the bank account before releasing the payment",
    ),
    errors.AlreadyResolved: (409, "already-resolved", "The exception is already resolved"),
    errors.InvalidPayoutInput: (422, "invalid-input", "The input cannot be used"),
}


class _Refused(ProblemError):
    def __init__(self, exc: errors.PayoutError) -> None:
        problem = next(
            (_PROBLEMS[t] for t in type(exc).__mro__ if t in _PROBLEMS),
            (400, "bad-request", "Bad request"),
        )
        self.status, self.slug, self.title = problem
        super().__init__(str(exc))


@contextmanager
def payout_problems() -> Iterator[None]:
    """The payouts domain's refusals as problems (the request's transaction then rolls back)."""
    try:
        yield
    except errors.PayoutError as exc:
        raise _Refused(exc) from exc


def _by(me: Principal) -> str:
    return actor(me.role, me.subject)


# --- batches ---------------------------------------------------------------------------------


@router.get("/payout-batches", response_model=list[BatchOut])
def list_batches(
    _: PayoutReader, session: DbSession, limit: Limit = 50, before: Before = None
) -> list[BatchOut]:
    """Newest first, each with its items counted and totalled by state; page back with
    `before` = the last id seen."""
    return [BatchOut.of(b) for b in queries.batches(session, limit=limit, before=before)]


@router.get("/payout-batches/{batch_id}", response_model=BatchOut)
def one_batch(batch_id: RowId, _: PayoutReader, session: DbSession) -> BatchOut:
    with payout_problems():
        return BatchOut.of(queries.batch(session, batch_id))


@router.get("/payout-batches/{batch_id}/items", response_model=list[ItemOut])
def batch_items(
    batch_id: RowId,
    _: PayoutReader,
    session: DbSession,
    state: ItemState | None = None,
    limit: Limit = 200,
    after: After = None,
) -> list[ItemOut]:
    """The batch's items in id order (of one state when given), accounts masked."""
    with payout_problems():
        found = queries.items(session, batch_id, state=state, limit=limit, after=after)
    return [ItemOut.of(i) for i in found]


# --- redemptions -----------------------------------------------------------------------------


@router.get("/redemptions", response_model=list[ReviewedRedemptionOut])
def list_redemptions(
    _: RedemptionReader,
    session: DbSession,
    status: RedemptionStatus | None = None,
    policy_id: PolicyIdQuery = None,
    uscc: UsccQuery = None,
    limit: Limit = 200,
    after: After = None,
) -> list[ReviewedRedemptionOut]:
    """Redemptions in id order: `status=held` for those awaiting approval, `status=returned`
    for those finance must correct."""
    found = queries.redemptions(
        session, status=status, policy_id=policy_id, uscc=uscc, limit=limit, after=after
    )
    return [ReviewedRedemptionOut.of(r) for r in found]


@router.post(
    "/redemptions/{redemption_id}/approve",
    response_model=ReviewedRedemptionOut,
    responses=answers(409),
)
def approve(redemption_id: RowId, me: Officer, session: DbSession) -> ReviewedRedemptionOut:
    """held -> approved, by an officer other than its maker (403 `maker-checker`)."""
    with payout_problems():
        return ReviewedRedemptionOut.of(approval.approve(session, redemption_id, by=_by(me)))


@router.post(
    "/redemptions/{redemption_id}/reverse", response_model=ReversalOut, responses=answers(409)
)
def reverse(redemption_id: RowId, body: ReverseIn, me: Officer, session: DbSession) -> ReversalOut:
    """Reverse a redemption for a reason: its budget is released; money already paid becomes
    owed by the firm (a clawback). 409 while it is being paid, or when already reversed."""
    with payout_problems():
        done = reversal.reverse(session, redemption_id, body.reason, by=_by(me))
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
    with payout_problems():
        done = retry.correct_account(session, redemption_id, body.account, by=_by(me))
    return ReviewedRedemptionOut.of(done)


@router.post(
    "/redemptions/{redemption_id}/release",
    response_model=ReviewedRedemptionOut,
    responses=answers(409),
)
def release(redemption_id: RowId, me: Finance, session: DbSession) -> ReviewedRedemptionOut:
    """returned -> approved, to be paid by the next payout run; not by whoever corrected it."""
    with payout_problems():
        return ReviewedRedemptionOut.of(retry.release(session, redemption_id, by=_by(me)))


# --- firm flags ------------------------------------------------------------------------------


@router.get("/firm-flags", response_model=list[FlagOut])
def list_flags(_: FlagReader, session: DbSession) -> list[FlagOut]:
    return [FlagOut.of(f) for f in approval.flags(session)]


@router.put("/firm-flags/{uscc}", response_model=FlagOut)
def flag_firm(uscc: Uscc, body: FlagIn, me: Officer, session: DbSession) -> FlagOut:
    """Flag a firm for review (or change the reason): its new redemptions are held."""
    with payout_problems():
        return FlagOut.of(approval.flag(session, uscc, body.reason, by=_by(me)))


@router.delete("/firm-flags/{uscc}", status_code=204)
def unflag_firm(uscc: Uscc, me: Officer, session: DbSession) -> Response:
    """Lift a firm's flag; redemptions already held stay held until approved."""
    with payout_problems():
        approval.unflag(session, uscc, by=_by(me))
    return Response(status_code=204)


# --- reconciliation and the ledger -----------------------------------------------------------


@router.get("/reconciliation-exceptions", response_model=list[ExceptionOut])
def list_exceptions(
    _: PayoutReader,
    session: DbSession,
    resolved: bool | None = None,
    kind: ExceptionKind | None = None,
    limit: Limit = 200,
    after: After = None,
) -> list[ExceptionOut]:
    """In id order; `resolved=false` for what is still to do."""
    found = queries.exceptions(session, resolved=resolved, kind=kind, limit=limit, after=after)
    return [ExceptionOut.of(e) for e in found]


@router.post(
    "/reconciliation-exceptions/{exception_id}/resolve",
    response_model=ExceptionOut,
    responses=answers(409),
)
def resolve_exception(
    exception_id: RowId, body: ResolveIn, me: Finance, session: DbSession
) -> ExceptionOut:
    with payout_problems():
        return ExceptionOut.of(reconcile.resolve(session, exception_id, body.note, by=_by(me)))


@router.get("/ledger/check", response_model=LedgerCheckOut)
def check_ledger(_: PayoutReader, session: DbSession) -> LedgerCheckOut:
    """Whether the ledger and the operational tables add up; every imbalance named."""
    return LedgerCheckOut.of(ledger_check.check(session))
