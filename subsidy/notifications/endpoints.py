"""HTTP: what the calling firm has been told; the notices that could not be delivered."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from subsidy.api.paging import MAX_SIZE, PageNumber, PageSize, Paging, with_total
from subsidy.api.security import DbSession, allow
from subsidy.auth import Principal, Role
from subsidy.notifications import service
from subsidy.notifications.schemas import NotificationOut, UndeliveredOut

router = APIRouter(prefix="/api/v1", tags=["notifications"])


@router.get("/me/notifications", response_model=list[NotificationOut])
def my_notifications(
    session: DbSession, me: Annotated[Principal, Depends(allow(Role.ENTERPRISE))]
) -> list[NotificationOut]:
    """Everything the platform told (or is about to tell) the calling firm, oldest first."""
    assert me.uscc is not None
    answers = []
    for pending in service.of_firm(session, me.uscc):
        n = pending.notification
        said = service.message(n, pending.title, pending.mode, pending.title_en, pending.reasons)
        answers.append(
            NotificationOut(
                id=n.id or 0,
                policy_id=n.policy_id,
                kind=str(n.kind),
                amount=n.amount,
                text_zh=said.text_zh,
                text_en=said.text_en,
                created_at=n.created_at,
                delivered_at=n.delivered_at,
            )
        )
    return answers


@router.get("/notifications/undelivered", response_model=list[UndeliveredOut])
def undelivered(
    _: Annotated[Principal, Depends(allow(Role.OFFICER, Role.AUDITOR))],
    session: DbSession,
    response: Response,
    page: PageNumber = 1,
    size: PageSize = MAX_SIZE,
) -> list[UndeliveredOut]:
    """The notices recorded as undelivered (no address, an invalid one, refused by the relay,
    unreachable), oldest first; `qinqing notify --requeue ID` sends one again once corrected."""
    paging = Paging(page, size)
    with_total(response, service.count_undelivered(session))
    return [
        UndeliveredOut(
            id=n.id or 0,
            uscc=n.uscc,
            policy_id=n.policy_id,
            kind=str(n.kind),
            undelivered=str(n.undelivered),
            reason=n.undelivered_reason,
            attempts=n.attempts,
            created_at=n.created_at,
            undelivered_at=n.undelivered_at,
        )
        for n in service.undelivered(session, offset=paging.offset, limit=paging.size)
    ]
