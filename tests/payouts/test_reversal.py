"""Reversal and clawback: every path releases the budget to the fen and keeps the ledger whole;
any sequence of approve / pay / return / correct / release / reverse does."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlmodel import Session, col

from payouts import ledger_check, retry, reversal
from payouts.errors import AlreadyReversed, InvalidPayoutInput, PaymentInFlight, PayoutError
from payouts.models import ItemState, PayoutItem
from subsidy import db
from subsidy.ledger.models import Account, LedgerEntry
from subsidy.redemption import approval
from subsidy.redemption.errors import BudgetExhausted
from subsidy.redemption.models import PolicyBudget, Redemption, RedemptionStatus
from tests.payouts.audit_trail import chain_intact, last
from tests.payouts.payments import (
    FLAT,
    FLAT_YUAN,
    REVIEW,
    REVIEW_YUAN,
    ZERO,
    World,
    bank_pays,
    bank_returns,
    gather,
    paid,
    paying,
    returned,
)
from tests.redemption.helpers import flat, publish, reserved


def reverse(world: World, redemption_id: int, reason: str = "found ineligible on audit") -> None:
    with db.session_scope(world.engine) as session:
        reversal.reverse(session, redemption_id, reason, by="officer:li.wei")


def approve(world: World, redemption_id: int) -> None:
    with db.session_scope(world.engine) as session:
        approval.approve(session, redemption_id, by="officer:zhao.min")


def last_move(world: World, redemption_id: int) -> tuple[str, str, Decimal, str]:
    with Session(world.engine) as session:
        query = (
            select(LedgerEntry)
            .where(col(LedgerEntry.redemption_id) == redemption_id)
            .order_by(col(LedgerEntry.id).desc())
        )
        entry = session.execute(query).scalars().first()
        assert entry is not None
        return entry.source, entry.target, entry.amount, entry.memo


def receivable(session: Session, uscc: str) -> Decimal:
    def total(side: str) -> Decimal:
        column = col(LedgerEntry.target) if side == "in" else col(LedgerEntry.source)
        query = select(func.sum(col(LedgerEntry.amount))).where(
            col(LedgerEntry.uscc) == uscc, column == Account.RECEIVABLE
        )
        return session.execute(query).scalar_one() or ZERO

    return total("in") - total("out")


def assert_balanced(session: Session) -> None:
    report = ledger_check.check(session)
    assert report.balanced, [str(i) for i in report.imbalances]


Setup = Callable[[World], tuple[int, Decimal]]


def _held(world: World) -> tuple[int, Decimal]:
    return world.redeem(0, REVIEW), REVIEW_YUAN


def _approved(world: World) -> tuple[int, Decimal]:
    held = world.redeem(0, REVIEW)
    approve(world, held)
    return held, REVIEW_YUAN


def _refused(world: World) -> tuple[int, Decimal]:
    redemption = world.redeem(0)
    returned(world.engine, redemption)
    return redemption, FLAT_YUAN


def _paid_then_returned(world: World) -> tuple[int, Decimal]:
    redemption = world.redeem(0)
    returned(world.engine, redemption, after_paying=True)
    return redemption, FLAT_YUAN


def _paid(world: World) -> tuple[int, Decimal]:
    redemption = world.redeem(0)
    paid(world.engine, redemption)
    return redemption, FLAT_YUAN


@pytest.mark.parametrize(
    ("setup", "status", "source", "target"),
    [
        (_held, "held", "reserved", "budget"),
        (_approved, "approved", "payable", "budget"),
        (_refused, "returned", "payable", "budget"),
        (_paid_then_returned, "returned", "payable", "budget"),
        (_paid, "paid", "paid", "receivable"),
    ],
    ids=["held", "approved", "refused", "paid-then-returned", "paid"],
)
def test_every_reversal_releases_the_budget_and_balances(
    world: World, setup: Setup, status: str, source: str, target: str
) -> None:
    redemption, amount = setup(world)
    policy = world.get(redemption).policy_id
    assert world.get(redemption).status == status
    before = reserved(world.engine, policy)
    reverse(world, redemption, "  the firm was deregistered before the grant ")
    assert world.get(redemption).status == RedemptionStatus.REVERSED
    assert before - reserved(world.engine, policy) == amount
    memo = "clawback" if target == "receivable" else "reverse"
    assert last_move(world, redemption) == (source, target, amount, memo)
    entry = last(world.engine, f"redemption:{redemption}")
    assert entry["action"] == "redemption.reverse"
    assert entry["actor"] == "officer:li.wei"
    assert entry["before"]["status"] == status
    assert entry["after"]["status"] == "reversed"
    assert entry["after"]["reason"] == "the firm was deregistered before the grant"
    assert entry["after"]["moved"] == f"{source} -> {target}"
    with Session(world.engine) as session:
        assert_balanced(session)
        owed = receivable(session, world.firms[0])
    assert owed == (amount if target == "receivable" else ZERO)
    assert chain_intact(world.engine)


def test_a_reversal_is_final_and_needs_a_reason(world: World) -> None:
    redemption = world.redeem(0)
    with pytest.raises(InvalidPayoutInput, match="a reason is required"):
        reverse(world, redemption, " ")
    reverse(world, redemption)
    with pytest.raises(AlreadyReversed, match="already reversed"):
        reverse(world, redemption)
    assert reserved(world.engine, FLAT) == ZERO


def test_a_redemption_being_paid_is_not_reversed(world: World) -> None:
    redemption = world.redeem(0)
    item = paying(world.engine, redemption)
    before = reserved(world.engine, FLAT)
    with pytest.raises(PaymentInFlight, match="wait for the batch to settle"):
        reverse(world, redemption)
    assert world.get(redemption).status == RedemptionStatus.PAYING
    assert reserved(world.engine, FLAT) == before
    assert last_move(world, redemption)[3] == "approve"
    with db.session_scope(world.engine) as session:  # once it settles, it can be
        found = session.get(PayoutItem, item.id)
        assert found is not None
        bank_pays(session, found)
    reverse(world, redemption)
    assert world.get(redemption).status == RedemptionStatus.REVERSED


def test_released_budget_can_be_redeemed_again(world: World) -> None:
    publish(world.engine, flat("p-tight", 1000, 3000))
    first = [world.redeem(n, "p-tight") for n in range(3)]
    with pytest.raises(BudgetExhausted):
        world.redeem(3, "p-tight")
    reverse(world, first[1])
    world.redeem(3, "p-tight")
    assert reserved(world.engine, "p-tight") == Decimal("3000.00")
    with Session(world.engine) as session:
        assert_balanced(session)


def test_a_clawback_is_settled_from_the_firms_next_payment(world: World) -> None:
    clawed = world.redeem(0)
    paid(world.engine, clawed)
    reverse(world, clawed)
    uscc = world.firms[0]
    with Session(world.engine) as session:
        assert receivable(session, uscc) == FLAT_YUAN
    nxt = world.redeem(0, REVIEW)
    approve(world, nxt)
    item = paid(world.engine, nxt, offset=FLAT_YUAN)
    assert item.net == REVIEW_YUAN - FLAT_YUAN
    with Session(world.engine) as session:
        assert receivable(session, uscc) == ZERO
        assert_balanced(session)


# --- any sequence of operations --------------------------------------------------------------

# Reaching `paid` takes gather then pay on the same redemption, and a retry takes return, correct
# and release: those are drawn more often than the one step that ends a redemption (reverse).
OPERATIONS = (
    *("approve", "gather", "gather", "pay", "pay", "return", "correct", "release", "release"),
    "reverse",
)
PEOPLE = ("li", "zhao")


def _apply(session: Session, op: str, redemption_id: int, who: str) -> None:
    redemption = session.get(Redemption, redemption_id)
    assert redemption is not None
    item = (
        session.execute(
            select(PayoutItem)
            .where(
                col(PayoutItem.redemption_id) == redemption_id,
                col(PayoutItem.state).in_([ItemState.SUBMITTED, ItemState.PAID]),
            )
            .order_by(col(PayoutItem.id).desc())
        )
        .scalars()
        .first()
    )
    match op:
        case "approve":
            approval.approve(session, redemption_id, by=f"officer:{who}")
        case "gather" if redemption.status == RedemptionStatus.APPROVED:
            owed = max(receivable(session, redemption.uscc), ZERO)
            gather(session, redemption_id, offset=min(owed, redemption.amount - Decimal("0.01")))
        case "pay" if item is not None and item.state == ItemState.SUBMITTED:
            bank_pays(session, item)
        case "return" if item is not None and redemption.status != RedemptionStatus.REVERSED:
            bank_returns(session, item)
        case "correct":
            retry.correct_account(
                session, redemption_id, f"62220{redemption_id:014d}", by=f"finance:{who}"
            )
        case "release":
            retry.release(session, redemption_id, by=f"finance:{who}")
        case "reverse":
            reversal.reverse(session, redemption_id, "property test", by=f"officer:{who}")


@pytest.fixture
def pool(world: World) -> list[int]:
    """Two firms, each with an approved and a held redemption (so a clawback of one can be
    offset against the other's payment)."""
    return [world.redeem(n, policy) for n in range(2) for policy in (FLAT, REVIEW)]


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(OPERATIONS), st.integers(0, 3), st.sampled_from(PEOPLE)),
        min_size=4,
        max_size=40,
    )
)
def test_any_sequence_of_operations_keeps_the_ledger_whole(
    world: World, pool: list[int], steps: list[tuple[str, int, str]]
) -> None:
    with Session(world.engine) as session:
        try:
            for op, index, who in steps:
                with suppress(PayoutError):  # refused before writing anything
                    _apply(session, op, pool[index], who)
            assert_balanced(session)
            budgets = {
                b.policy_id: b.reserved for b in session.execute(select(PolicyBudget)).scalars()
            }
            live = session.execute(
                select(col(Redemption.policy_id), func.sum(col(Redemption.amount)))
                .where(col(Redemption.status) != RedemptionStatus.REVERSED)
                .group_by(col(Redemption.policy_id))
            ).all()
            assert {p: budgets[p] for p, _ in live} == dict(live)
            for uscc in {r.uscc for r in session.execute(select(Redemption)).scalars()}:
                assert receivable(session, uscc) >= ZERO
        finally:
            session.rollback()
