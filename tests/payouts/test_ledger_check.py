"""The ledger check: clean on a consistent world, and every planted imbalance named with its
policy, firm or redemption, the account, and the amounts to the fen."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, bindparam, text
from sqlmodel import Session

from payouts import ledger_check, reversal
from payouts.ledger_check import Imbalance
from subsidy import db
from subsidy.db import Money
from subsidy.redemption import approval
from tests.payouts.payments import FLAT, REVIEW, World, paid, paying, returned


@pytest.fixture
def busy(world: World) -> World:
    """Every status, a clawback and an offset settled: approved, held, approved after a hold,
    paying, paid, refused, paid then returned, reversed, clawed back and offset."""
    world.redeem(0)
    world.redeem(1, REVIEW)
    approved_later = world.redeem(2, REVIEW)
    paying(world.engine, world.redeem(3))
    paid(world.engine, world.redeem(4))
    returned(world.engine, world.redeem(5))
    returned(world.engine, world.redeem(6), after_paying=True)
    reversed_ = world.redeem(7)
    clawed = world.redeem(8)
    paid(world.engine, clawed)
    with db.session_scope(world.engine) as session:
        approval.approve(session, approved_later, by="officer:li.wei")
        reversal.reverse(session, reversed_, "duplicate", by="officer:li.wei")
        reversal.reverse(session, clawed, "fraud", by="officer:li.wei")
    owed_again = world.redeem(8, REVIEW)
    with db.session_scope(world.engine) as session:
        approval.approve(session, owed_again, by="officer:li.wei")
    paid(world.engine, owed_again, offset=Decimal("400.00"))  # 600.00 still owed
    return world


def check(engine: Engine) -> ledger_check.LedgerReport:
    with Session(engine) as session:
        return ledger_check.check(session)


def plant(engine: Engine, sql: str, **params: object) -> None:
    """Raw SQL, with every Decimal bound as Money (fen on SQLite, NUMERIC on PostgreSQL)."""
    statement = text(sql).bindparams(
        *(bindparam(k, type_=Money()) for k, v in params.items() if isinstance(v, Decimal))
    )
    with db.session_scope(engine) as session:
        session.execute(statement, params)


def fen(yuan: str) -> Decimal:
    return Decimal(yuan)


def test_a_consistent_world_is_balanced(busy: World) -> None:
    report = check(busy.engine)
    assert report.balanced, [str(i) for i in report.imbalances]
    assert report.policies == 2
    assert report.firms == 1
    assert report.entries > 20


def test_an_edited_ledger_row_is_named_with_policy_redemption_and_amounts(busy: World) -> None:
    plant(
        busy.engine,
        "UPDATE ledger_entry SET amount = :amount WHERE redemption_id = 1 AND memo = 'approve'",
        amount=fen("999.99"),
    )
    found = check(busy.engine).imbalances
    assert (
        Imbalance(
            "policy",
            FLAT,
            "payable",
            Decimal("4000.00"),
            Decimal("3999.99"),
            "approved, paying and returned redemptions",
        )
        in found
    )
    assert (
        Imbalance("policy", FLAT, "reserved", Decimal("0.00"), Decimal("0.01"), "held redemptions")
        in found
    )
    assert (
        Imbalance(
            "redemption",
            "1",
            "payable",
            Decimal("1000.00"),
            Decimal("999.99"),
            f"its status is approved ({FLAT})",
        )
        in found
    )
    assert str(next(i for i in found if i.account == "payable" and i.scope == "policy")) == (
        f"policy {FLAT}: payable: expected 4000.00 (approved, paying and returned redemptions), "
        "found 3999.99 (difference -0.01)"
    )


def test_an_edited_budget_row_is_named(busy: World) -> None:
    plant(
        busy.engine,
        "UPDATE policy_budget SET reserved = reserved + :delta WHERE policy_id = :p",
        delta=Decimal("0.01"),
        p=REVIEW,
    )
    (found,) = check(busy.engine).imbalances
    assert (found.scope, found.key, found.account) == ("policy", REVIEW, "reserved+payable+paid")
    assert found.expected - found.found == Decimal("0.01")


def test_a_status_changed_behind_the_ledgers_back_is_named(busy: World) -> None:
    plant(busy.engine, "UPDATE redemption SET status = 'held' WHERE id = 1")
    found = check(busy.engine).imbalances
    assert {(i.scope, i.key, i.account, i.expected, i.found) for i in found} == {
        ("policy", FLAT, "reserved", Decimal("1000.00"), Decimal("0.00")),
        ("policy", FLAT, "payable", Decimal("3000.00"), Decimal("4000.00")),
        ("redemption", "1", "reserved", Decimal("1000.00"), Decimal("0.00")),
        ("redemption", "1", "payable", Decimal("0.00"), Decimal("1000.00")),
    }


def test_a_paid_item_without_its_ledger_move_is_named(busy: World) -> None:
    plant(busy.engine, "DELETE FROM ledger_entry WHERE memo = 'paid' AND redemption_id = 5")
    found = {
        (i.scope, i.key, i.account): (i.expected, i.found) for i in check(busy.engine).imbalances
    }
    assert found[("policy", FLAT, "paid")] == (Decimal("1000.00"), Decimal("0.00"))
    assert found[("policy", FLAT, "payable")] == (Decimal("4000.00"), Decimal("5000.00"))
    assert found[("redemption", "5", "paid")] == (Decimal("1000.00"), Decimal("0.00"))


def test_a_receivable_out_of_step_is_named_by_firm(busy: World) -> None:
    uscc = busy.firms[8]
    plant(busy.engine, 'UPDATE payout_item SET "offset" = :o WHERE "offset" > 0', o=fen("500.00"))
    (found,) = check(busy.engine).imbalances
    assert found == Imbalance(
        "firm",
        uscc,
        "receivable",
        Decimal("500.00"),
        Decimal("600.00"),
        "clawed back after payment minus offsets settled",
    )


def test_a_budget_overrun_and_a_malformed_row_are_named(busy: World) -> None:
    plant(
        busy.engine,
        "UPDATE policy_budget SET budget = :b WHERE policy_id = :p",
        b=fen("1.00"),
        p=FLAT,
    )
    plant(
        busy.engine,
        "INSERT INTO ledger_entry (at, policy_id, uscc, redemption_id, source, target, amount,"
        " memo) SELECT at, policy_id, uscc, redemption_id, 'reserved', 'reserved', amount, 'oops'"
        " FROM ledger_entry WHERE id = 1",
    )
    found = check(busy.engine).imbalances
    overrun = next(i for i in found if i.account == "policy_budget.reserved")
    assert (overrun.key, overrun.expected, overrun.found) == (
        FLAT,
        Decimal("1.00"),
        Decimal("5000.00"),
    )
    bad = next(i for i in found if i.scope == "ledger_entry")
    assert (bad.account, bad.rule) == (
        "reserved -> reserved",
        "money must move between two accounts",
    )


def test_at_most_a_hundred_redemptions_are_named(world: World) -> None:
    for n in range(3):
        world.redeem(n)
    plant(
        world.engine,
        "UPDATE ledger_entry SET amount = amount + :delta WHERE memo = 'approve'",
        delta=Decimal("0.01"),
    )
    original = ledger_check.SHOWN_REDEMPTIONS
    ledger_check.SHOWN_REDEMPTIONS = 2
    try:
        report = check(world.engine)
    finally:
        ledger_check.SHOWN_REDEMPTIONS = original
    assert sorted({i.key for i in report.imbalances if i.scope == "redemption"}) == ["1", "2"]
    assert report.unshown_redemptions == 1


def test_errors_that_cancel_within_a_policy_are_named_by_redemption(world: World) -> None:
    approved = world.redeem(0)
    with db.session_scope(world.engine) as session:
        approval.flag(session, world.firms[1], "review", by="officer:li.wei")
    held = world.redeem(1)  # same policy, same amount, held by the flag
    plant(
        world.engine,
        "UPDATE redemption SET status = CASE id WHEN :a THEN 'held' ELSE 'approved' END"
        " WHERE id IN (:a, :h)",
        a=approved,
        h=held,
    )
    found = check(world.engine).imbalances
    assert {i.scope for i in found} == {"redemption"}  # every policy total still adds up
    assert {(i.key, i.account, i.expected, i.found) for i in found} == {
        (str(approved), "reserved", Decimal("1000.00"), Decimal("0.00")),
        (str(approved), "payable", Decimal("0.00"), Decimal("1000.00")),
        (str(held), "reserved", Decimal("0.00"), Decimal("1000.00")),
        (str(held), "payable", Decimal("1000.00"), Decimal("0.00")),
    }
