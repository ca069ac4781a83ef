"""`qinqing ledger check` and the `qinqing payouts ...` commands as a user runs them."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text, update
from sqlmodel import col

from payouts.statement import StatementLine, write_statement
from subsidy import db
from subsidy.redemption.models import PolicyBudget
from tests.commands import qinqing, wide_terminal  # noqa: F401 (an autouse fixture)
from tests.payouts.payments import REVIEW, World, make_world, paid, returned
from tests.redemption.helpers import TODAY
from tests.snapshots import Snapshots


@pytest.fixture
def world(app_env: Engine, data_dir: Path, tmp_path: Path, worlds: Snapshots) -> World:
    return worlds.once("payments", lambda: make_world(app_env, data_dir, tmp_path / "registry"))


def test_approve_and_maker_checker(world: World) -> None:
    held = world.redeem(0, REVIEW)
    with db.session_scope(world.engine) as session:
        session.execute(
            text("UPDATE redemption SET changed_by = 'finance:li' WHERE id = :i"), {"i": held}
        )
    code, output = qinqing("payouts", "approve", held, "--by", "li")
    assert code == 1
    assert "officer:li made the last change" in output
    code, output = qinqing("payouts", "approve", held, "--by", "zhao")
    assert code == 0, output
    assert f"redemption {held} approved: 5,000.00 yuan payable" in output
    code, output = qinqing("payouts", "approve", held)
    assert code == 2  # --by is required


def test_reverse_flag_unflag(world: World) -> None:
    done = world.redeem(0)
    paid(world.engine, done)
    code, output = qinqing("payouts", "reverse", done, "--reason", "fraud", "--by", "li")
    assert code == 0, output
    assert "1,000.00 yuan paid -> receivable (the firm owes it back)" in output
    code, output = qinqing("payouts", "reverse", done, "--reason", "fraud", "--by", "li")
    assert (code, "already reversed" in output) == (1, True)
    firm = world.firms[4]
    code, output = qinqing("payouts", "flag", firm, "--reason", "tip-off", "--by", "li")
    assert code == 0, output
    assert world.get(world.redeem(4)).status == "held"
    assert qinqing("payouts", "unflag", firm, "--by", "li")[0] == 0
    code, output = qinqing("payouts", "unflag", firm, "--by", "li")
    assert (code, "is not flagged" in output) == (1, True)


def test_correct_and_release(world: World) -> None:
    redemption = world.redeem(0)
    returned(world.engine, redemption)
    code, output = qinqing(
        "payouts", "correct-account", redemption, "6217001234567890123", "--by", "wang"
    )
    assert code == 0, output
    assert "***************0123" in output
    assert "6217001234567890123" not in output
    code, output = qinqing("payouts", "release", redemption, "--by", "wang")
    assert (code, "another person must release" in output) == (1, True)
    code, output = qinqing("payouts", "release", redemption, "--by", "zhao")
    assert code == 0, output
    assert world.get(redemption).status == "approved"


def test_reconcile_once_per_file(world: World, tmp_path: Path) -> None:
    item = paid(world.engine, world.redeem(0))
    path = tmp_path / "statement.xlsx"
    lines = [
        StatementLine(TODAY, item.bank_reference or "", item.idempotency_key, "payment", item.net),
        StatementLine(TODAY, "STRANGER", None, "payment", Decimal("5.00")),
    ]
    write_statement(path, lines)
    code, output = qinqing("payouts", "reconcile", path, "--by", "wang")
    assert code == 0, output
    assert "statement.xlsx: 2 lines, 1 matched to payout items" in output
    assert "1 exceptions recorded for finance:" in output
    assert "unmatched: 1" in output
    code, output = qinqing("payouts", "reconcile", path)
    assert (code, "was reconciled before: nothing recorded" in output) == (0, True)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "value_date,bank_reference,kind,amount\n2020-13-01,R1,payment,1\n", encoding="utf-8"
    )
    code, output = qinqing("payouts", "reconcile", bad)
    assert code == 1
    assert "value_date" in output
    assert "row 2" in output


def test_reconcile_tells_repeated_lines_and_second_payments(world: World, tmp_path: Path) -> None:
    item = paid(world.engine, world.redeem(0))
    reference = item.bank_reference or ""
    payment = StatementLine(TODAY, reference, item.idempotency_key, "payment", item.net)
    first, overlapping = tmp_path / "first.csv", tmp_path / "overlapping.csv"
    write_statement(first, [payment])
    assert qinqing("payouts", "reconcile", first)[0] == 0
    write_statement(overlapping, [payment, replace(payment, bank_reference="SECOND")])
    code, output = qinqing("payouts", "reconcile", overlapping)
    assert code == 0, output
    assert "overlapping.csv: 2 lines, 2 matched to payout items" in output
    assert "1 of them repeat lines of earlier statements" in output
    assert "duplicate: 1" in output


def test_ledger_check_names_imbalances_and_exits_1(world: World) -> None:
    paid(world.engine, world.redeem(0))
    code, output = qinqing("ledger", "check")
    assert code == 0, output
    assert "ledger balanced: 3 entries, 1 policies, 0 firms with a receivable" in output
    with db.session_scope(world.engine) as session:
        # Through the Money type: 1.50 yuan on either database (SQLite stores fen).
        session.execute(
            update(PolicyBudget).values(reserved=col(PolicyBudget.reserved) + Decimal("1.50"))
        )
    code, output = qinqing("ledger", "check")
    assert code == 1
    assert "1 imbalances:" in output
    assert (
        "policy p-flat: reserved+payable+paid: expected 1001.50 (policy_budget.reserved), "
        "found 1000.00 (difference -1.50)"
    ) in output
