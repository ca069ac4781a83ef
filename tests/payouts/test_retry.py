"""A returned payment paid again: one finance user corrects the account, another releases it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlmodel import Session, col

from payouts import ledger_check, retry
from payouts.errors import (
    AccountNotCorrected,
    InvalidPayoutInput,
    MakerChecker,
    RedemptionStateError,
)
from payouts.models import ItemState, PayoutItem
from subsidy import db
from subsidy.audit.models import AuditEntry
from subsidy.redemption.models import RedemptionStatus
from tests.payouts.audit_trail import entries
from tests.payouts.payments import (
    REGISTRY_ACCOUNT,
    World,
    bank_returns,
    gather,
    paid,
    paying,
    returned,
)

NEW_ACCOUNT = "6217001234567890123"


def items(world: World, redemption_id: int) -> list[PayoutItem]:
    with Session(world.engine) as session:
        query = (
            select(PayoutItem)
            .where(col(PayoutItem.redemption_id) == redemption_id)
            .order_by(col(PayoutItem.id))
        )
        return list(session.execute(query).scalars())


def correct(world: World, redemption_id: int, by: str, account: str = NEW_ACCOUNT) -> None:
    with db.session_scope(world.engine) as session:
        retry.correct_account(session, redemption_id, account, by=by)


def release(world: World, redemption_id: int, by: str) -> None:
    with db.session_scope(world.engine) as session:
        retry.release(session, redemption_id, by=by)


@pytest.mark.parametrize("after_paying", [False, True], ids=["refused", "paid-then-returned"])
def test_corrected_released_and_paid_again_with_a_new_key(world: World, after_paying: bool) -> None:
    redemption = world.redeem(0)
    first = returned(world.engine, redemption, after_paying=after_paying)
    assert world.get(redemption).status == RedemptionStatus.RETURNED
    correct(world, redemption, "finance:wang.fang", account="6217 0012 3456 7890 123")
    corrected = world.get(redemption)
    assert (corrected.account_override, corrected.changed_by) == (NEW_ACCOUNT, "finance:wang.fang")
    assert corrected.status == RedemptionStatus.RETURNED
    with pytest.raises(MakerChecker, match="another person must release"):
        release(world, redemption, "finance:wang.fang")
    release(world, redemption, "finance:zhao.min")
    assert world.get(redemption).status == RedemptionStatus.APPROVED
    with db.session_scope(world.engine) as session:
        second = gather(session, redemption)
    assert second.id != first.id
    assert second.idempotency_key != first.idempotency_key
    assert second.account == NEW_ACCOUNT
    assert first.account == REGISTRY_ACCOUNT
    assert [i.state for i in items(world, redemption)] == [ItemState.RETURNED, ItemState.SUBMITTED]
    trail = entries(world.engine, f"redemption:{redemption}")
    assert [(e["action"], e["actor"]) for e in trail[-2:]] == [
        ("redemption.correct_account", "finance:wang.fang"),
        ("redemption.release", "finance:zhao.min"),
    ]
    with Session(world.engine) as session:
        report = ledger_check.check(session)
        assert report.balanced, [str(i) for i in report.imbalances]


def test_the_account_is_masked_in_the_audit_trail(world: World) -> None:
    redemption = world.redeem(0)
    returned(world.engine, redemption)
    correct(world, redemption, "finance:wang.fang")
    (entry,) = [
        e for e in entries(world.engine, f"redemption:{redemption}") if "correct" in e["action"]
    ]
    assert entry["after"]["account_override"] == "*" * 15 + "0123"
    with Session(world.engine) as session:
        stored = session.execute(select(col(AuditEntry.before), col(AuditEntry.after))).all()
    assert all(NEW_ACCOUNT not in before + after for before, after in stored)
    assert json.dumps(entry).count("0123") == 1


def test_a_release_needs_an_account_other_than_the_one_returned(world: World) -> None:
    redemption = world.redeem(0)
    returned(world.engine, redemption)
    with pytest.raises(AccountNotCorrected, match="correct its bank account"):
        release(world, redemption, "finance:zhao.min")
    correct(world, redemption, "finance:wang.fang")
    release(world, redemption, "finance:zhao.min")
    # Paid to the corrected account, returned again: that account failed too.
    with db.session_scope(world.engine) as session:
        bank_returns(session, gather(session, redemption))
    with pytest.raises(AccountNotCorrected):
        release(world, redemption, "finance:li.na")
    correct(world, redemption, "finance:li.na", account="6222000000000000777")
    release(world, redemption, "finance:wang.fang")
    assert world.get(redemption).status == RedemptionStatus.APPROVED


def test_only_a_returned_redemption_is_corrected_or_released(world: World) -> None:
    approved, in_flight, done = world.redeem(0), world.redeem(1), world.redeem(2)
    paying(world.engine, in_flight)
    paid(world.engine, done)
    for redemption in (approved, in_flight, done):
        with pytest.raises(RedemptionStateError, match="only a returned one is corrected"):
            correct(world, redemption, "finance:wang.fang")
        with pytest.raises(RedemptionStateError, match="only a returned one is released"):
            release(world, redemption, "finance:zhao.min")
    back = world.redeem(3)
    returned(world.engine, back)
    for bad in ("12345", "6222-0200-0000", "62220200000000000000000000000000001"):
        with pytest.raises(InvalidPayoutInput, match="not a bank account number"):
            correct(world, back, "finance:wang.fang", account=bad)
    assert world.get(back).account_override is None
