"""HTTP: redeem with one click, and follow one's redemptions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response

from subsidy.api.openapi import answers
from subsidy.api.params import RowId
from subsidy.api.problems import NotFound
from subsidy.api.ratelimit import rate_limited
from subsidy.api.security import DbSession, allow
from subsidy.auth import Principal, Role
from subsidy.redemption import repository, service
from subsidy.redemption.models import Redemption
from subsidy.redemption.schemas import RedeemIn, RedemptionOut
from subsidy.settings import get_settings

router = APIRouter(prefix="/api/v1", tags=["redemptions"])


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
    done = service.redeem(
        session, me.uscc, body.policy_id, idempotency_key, today=get_settings().business_date
    )
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
