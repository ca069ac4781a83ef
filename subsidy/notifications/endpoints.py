"""HTTP: what the calling firm has been told."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from subsidy.api.security import DbSession, allow
from subsidy.auth import Principal, Role
from subsidy.notifications import service
from subsidy.notifications.schemas import NotificationOut

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
