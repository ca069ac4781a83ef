"""HTTP: redeem with one click, and follow one's redemptions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Response

from subsidy.api.openapi import answers
from subsidy.api.params import RowId
from subsidy.api.problems import NotFound, ProblemError
from subsidy.api.ratelimit import rate_limited
from subsidy.api.security import DbSession, allow
from subsidy.auth import Principal, Role
from subsidy.redemption import errors, repository, service
from subsidy.redemption.models import Redemption
from subsidy.redemption.schemas import RedeemIn, RedemptionOut
from subsidy.settings import get_settings

router = APIRouter(prefix="/api/v1", tags=["redemptions"])

_PROBLEMS: dict[type[errors.RedemptionError], tuple[int, str, str]] = {
    errors.UnknownPolicy: (404, "unknown-policy", "No such policy"),
    errors.NotRedeemable: (409, "not-redeemable", "The policy cannot be redeemed now"),
    errors.NotEligible: (422, "not-eligible", "The firm does not qualify"),
    errors.AlreadyRedeemed: (409, "already-redeemed", "Already redeemed"),
    errors.GroupConflict: (409, "group-conflict", "A subsidy of the same group is held"),
    errors.BudgetExhausted: (409, "budget-exhausted", "The policy's budget is exhausted"),
    errors.KeyReused: (409, "idempotency-key-reused", "Idempotency key already used"),
}


class _Refused(ProblemError):
    code = "api.redemption_refused"  # an instance carries its redemption error's code

    def __init__(self, exc: errors.RedemptionError) -> None:
        self.status, self.slug, self.title = _PROBLEMS[type(exc)]
        extra: dict[str, Any] = {}
        if isinstance(exc, errors.NotEligible):
            extra["explanation"] = exc.explanation
        super().__init__(str(exc), cause=exc, **extra)


@router.post(
    "/redemptions",
    response_model=RedemptionOut,
    status_code=201,
    responses=answers(409, 429),
    dependencies=[Depends(rate_limited("redeem"))],
)
def redeem(
    body: RedeemIn,
    response: Response,
    session: DbSession,
    me: Annotated[Principal, Depends(allow(Role.ENTERPRISE))],
    idempotency_key: Annotated[str, Header(min_length=8, max_length=128)],
) -> RedemptionOut:
    """Redeem a subsidy the firm qualifies for. Replaying the same Idempotency-Key answers 200
    with the same body; nothing is reserved twice."""
    assert me.uscc is not None
    try:
        done = service.redeem(
            session, me.uscc, body.policy_id, idempotency_key, today=get_settings().business_date
        )
    except errors.RedemptionError as exc:
        raise _Refused(exc) from exc
    if not done.created:
        response.status_code = 200
    return _out(done.redemption)


@router.get("/me/redemptions", response_model=list[RedemptionOut])
def my_redemptions(
    session: DbSession, me: Annotated[Principal, Depends(allow(Role.ENTERPRISE))]
) -> list[RedemptionOut]:
    assert me.uscc is not None
    return [_out(r) for r in repository.of_firm(session, me.uscc)]


@router.get("/redemptions/{redemption_id}", response_model=RedemptionOut)
def one_redemption(
    redemption_id: RowId,
    session: DbSession,
    me: Annotated[Principal, Depends(allow(*Role))],
) -> RedemptionOut:
    """One redemption; a firm sees only its own (another firm's is not found)."""
    found = session.get(Redemption, redemption_id)
    if found is None or (me.role is Role.ENTERPRISE and found.uscc != me.uscc):
        raise NotFound(code="api.not_found.redemption", fields={"redemption_id": redemption_id})
    return _out(found)


def _out(redemption: Redemption) -> RedemptionOut:
    return RedemptionOut.model_validate(redemption, from_attributes=True)
