"""Maker-checker approval of held redemptions, and the firm flags that hold them.

A redemption is created `approved`, or `held` when a risk rule holds it (an amount above its
policy's review threshold, or a flagged firm; `subsidy.redemption.risk`). An
officer approves a held one: held -> approved, its money reserved -> payable. The officer may never
be the redemption's maker (`Redemption.changed_by`). A flag holds the firm's *new* redemptions; it
changes none already made. Everything flushes, nothing commits, everything is audited
(`subsidy.redemption.changes`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from subsidy.audit import service as audit
from subsidy.db import utcnow
from subsidy.ledger.models import Account
from subsidy.ledger.service import Move, post
from subsidy.redemption.changes import audited_change, check_not_maker, check_reason
from subsidy.redemption.errors import InvalidPayoutInput, PayoutNotFound, RedemptionStateError
from subsidy.redemption.models import FirmFlag, Redemption, RedemptionStatus
from subsidy.registry.uscc import is_valid as is_valid_uscc

APPROVE = "redemption.approve"
FLAG = "firm.flag"
UNFLAG = "firm.unflag"


def approve(session: Session, redemption_id: int, *, by: str) -> Redemption:
    """held -> approved by `by` (an actor, `officer:<subject>`), who is not its maker."""
    with audited_change(session, redemption_id, by=by, action=APPROVE) as change:
        redemption = change.redemption
        if redemption.status != RedemptionStatus.HELD:
            raise RedemptionStateError(
                code="payout.not_held", redemption_id=redemption_id, status=redemption.status
            )
        check_not_maker(redemption, by, "approve")
        redemption.status = RedemptionStatus.APPROVED
        post(
            session,
            [
                Move(
                    redemption.policy_id,
                    redemption.uscc,
                    redemption_id,
                    Account.RESERVED,
                    Account.PAYABLE,
                    redemption.amount,
                    "approve",
                )
            ],
        )
    return redemption


def flag(session: Session, uscc: str, reason: str, *, by: str) -> FirmFlag:
    """Flag a firm for review (or change the reason of its flag): its new redemptions are held."""
    _check_uscc(uscc)
    reason = check_reason(reason)
    found = session.get(FirmFlag, uscc, with_for_update=True)
    before = _flag_state(found)
    if found is None:
        found = FirmFlag(uscc=uscc, reason=reason, flagged_by=by, flagged_at=utcnow())
    else:
        found.reason, found.flagged_by, found.flagged_at = reason, by, utcnow()
    session.add(found)
    session.flush()
    audit.record(
        session,
        actor=by,
        action=FLAG,
        subject=f"firm:{uscc}",
        before=before,
        after=_flag_state(found),
    )
    return found


def unflag(session: Session, uscc: str, *, by: str) -> FirmFlag:
    """Lift a firm's flag (its held redemptions stay held until approved); the flag removed."""
    _check_uscc(uscc)
    found = session.get(FirmFlag, uscc, with_for_update=True)
    if found is None:
        raise PayoutNotFound(code="payout.not_found.flag", uscc=uscc)
    before = _flag_state(found)
    session.delete(found)
    session.flush()
    audit.record(session, actor=by, action=UNFLAG, subject=f"firm:{uscc}", before=before, after={})
    return found


def flags(session: Session) -> list[FirmFlag]:
    query = select(FirmFlag).order_by(col(FirmFlag.flagged_at).desc(), col(FirmFlag.uscc))
    return list(session.execute(query).scalars())


def _check_uscc(uscc: str) -> None:
    if not is_valid_uscc(uscc):
        raise InvalidPayoutInput(code="payout.bad_uscc", uscc=uscc)


def _flag_state(found: FirmFlag | None) -> dict[str, object]:
    if found is None:
        return {}
    return {"reason": found.reason, "flagged_by": found.flagged_by, "flagged_at": found.flagged_at}
