"""Maker-checker approval of held redemptions, and firm flags."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlmodel import Session, col

from payouts import ledger_check
from payouts.errors import InvalidPayoutInput, MakerChecker, PayoutNotFound, RedemptionStateError
from subsidy import db
from subsidy.actors import actor, person
from subsidy.ledger.models import LedgerEntry
from subsidy.redemption import approval
from subsidy.redemption.models import FirmFlag, Redemption, RedemptionStatus
from tests.payouts.audit_trail import chain_intact, entries, last
from tests.payouts.payments import FLAT, REVIEW, REVIEW_YUAN, World


def moves(world: World, redemption_id: int) -> list[tuple[str, str, Decimal, str]]:
    with Session(world.engine) as session:
        query = (
            select(LedgerEntry)
            .where(col(LedgerEntry.redemption_id) == redemption_id)
            .order_by(col(LedgerEntry.id))
        )
        return [(e.source, e.target, e.amount, e.memo) for e in session.execute(query).scalars()]


def balanced(world: World) -> bool:
    with Session(world.engine) as session:
        report = ledger_check.check(session)
    assert report.balanced, [str(i) for i in report.imbalances]
    return True


def test_a_held_redemption_is_approved_by_an_officer(world: World) -> None:
    held = world.redeem(0, REVIEW)
    assert world.get(held).status == RedemptionStatus.HELD
    assert world.get(held).changed_by == f"enterprise:{world.firms[0]}"
    assert balanced(world)
    with db.session_scope(world.engine) as session:
        approval.approve(session, held, by="officer:li.wei")
    assert world.get(held).status == RedemptionStatus.APPROVED
    assert moves(world, held) == [
        ("budget", "reserved", REVIEW_YUAN, "reserve"),
        ("reserved", "payable", REVIEW_YUAN, "approve"),
    ]
    entry = last(world.engine, f"redemption:{held}")
    assert entry["actor"] == "officer:li.wei"
    assert entry["action"] == "redemption.approve"
    assert (entry["before"]["status"], entry["after"]["status"]) == ("held", "approved")
    assert balanced(world)
    assert chain_intact(world.engine)


def test_the_maker_never_checks_even_under_another_role(world: World) -> None:
    held = world.redeem(0, REVIEW)
    with db.session_scope(world.engine) as session:
        found = session.get(Redemption, held)
        assert found is not None
        found.changed_by = "finance:wang.fang"  # e.g. a redemption a person entered by hand
    for checker in ("officer:wang.fang", "finance:wang.fang", "wang.fang"):
        with (
            pytest.raises(MakerChecker, match="another person must approve"),
            db.session_scope(world.engine) as session,
        ):
            approval.approve(session, held, by=checker)
    assert world.get(held).status == RedemptionStatus.HELD
    with db.session_scope(world.engine) as session:
        approval.approve(session, held, by="officer:li.wei")
    assert world.get(held).status == RedemptionStatus.APPROVED


def test_an_enterprise_maker_is_compared_by_its_subject() -> None:
    assert person("enterprise:91330106000000001X") == "91330106000000001X"
    assert person(actor("officer", "li.wei")) == person("finance:li.wei") == "li.wei"
    assert person("system:automatic-grant") == "automatic-grant"


def test_only_a_held_redemption_is_approved(world: World) -> None:
    approved = world.redeem(0, FLAT)
    with (
        pytest.raises(RedemptionStateError, match="is approved; only a held one"),
        db.session_scope(world.engine) as session,
    ):
        approval.approve(session, approved, by="officer:li.wei")
    with (
        pytest.raises(PayoutNotFound, match="no redemption 999"),
        db.session_scope(world.engine) as session,
    ):
        approval.approve(session, 999, by="officer:li.wei")
    held = world.redeem(1, REVIEW)
    with db.session_scope(world.engine) as session:
        approval.approve(session, held, by="officer:li.wei")
    with pytest.raises(RedemptionStateError), db.session_scope(world.engine) as session:
        approval.approve(session, held, by="officer:zhao.min")
    assert [m[3] for m in moves(world, held)] == ["reserve", "approve"]  # approved once
    assert balanced(world)


def test_a_flag_holds_the_firms_new_redemptions_until_lifted(world: World) -> None:
    firm = world.firms[5]
    with db.session_scope(world.engine) as session:
        approval.flag(session, firm, "  tip-off from the tax bureau ", by="officer:li.wei")
    with Session(world.engine) as session:
        flag = session.get(FirmFlag, firm)
        assert flag is not None
        assert (flag.reason, flag.flagged_by) == ("tip-off from the tax bureau", "officer:li.wei")
    held = world.redeem(5, FLAT)
    assert world.get(held).status == RedemptionStatus.HELD
    with db.session_scope(world.engine) as session:
        approval.flag(session, firm, "confirmed by the tax bureau", by="officer:zhao.min")
        approval.unflag(session, firm, by="officer:zhao.min")
    assert world.get(world.redeem(5, REVIEW)).status == RedemptionStatus.HELD  # threshold still
    assert world.get(held).status == RedemptionStatus.HELD  # lifting a flag approves nothing
    trail = entries(world.engine, f"firm:{firm}")
    assert [(e["action"], e["actor"]) for e in trail] == [
        ("firm.flag", "officer:li.wei"),
        ("firm.flag", "officer:zhao.min"),
        ("firm.unflag", "officer:zhao.min"),
    ]
    assert trail[1]["before"]["reason"] == "tip-off from the tax bureau"
    assert trail[2]["after"] == {}
    assert balanced(world)


def test_flag_refusals(world: World) -> None:
    with (
        pytest.raises(InvalidPayoutInput, match="not a valid USCC"),
        db.session_scope(world.engine) as session,
    ):
        approval.flag(session, "91330106000000001X", "why", by="officer:li.wei")
    with (
        pytest.raises(InvalidPayoutInput, match="a reason is required"),
        db.session_scope(world.engine) as session,
    ):
        approval.flag(session, world.firms[0], "   ", by="officer:li.wei")
    with (
        pytest.raises(PayoutNotFound, match="is not flagged"),
        db.session_scope(world.engine) as session,
    ):
        approval.unflag(session, world.firms[0], by="officer:li.wei")
