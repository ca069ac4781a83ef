"""Reconciliation: each kind of exception from a statement, nothing twice for the same file,
nothing moved."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session, col

from payouts import ledger_check, reconcile
from payouts.errors import AlreadyResolved, PayoutNotFound
from payouts.gateways import BankFileError
from payouts.models import PayoutItem, ReconciliationException
from payouts.statement import StatementLine, write_statement
from subsidy import db
from subsidy.ledger.models import LedgerEntry
from tests.payouts.audit_trail import last
from tests.payouts.payments import FLAT_YUAN, World, paid, paying, returned
from tests.redemption.helpers import TODAY


def line(item: PayoutItem, amount: Decimal | None = None, **changes: object) -> StatementLine:
    values: dict[str, object] = {
        "value_date": TODAY,
        "bank_reference": item.bank_reference or f"REF{item.id}",
        "idempotency_key": item.idempotency_key,
        "kind": "payment",
        "amount": item.net if amount is None else amount,
    }
    return StatementLine(**(values | changes))  # type: ignore[arg-type]


def run(world: World, path: Path) -> reconcile.Reconciliation:
    with db.session_scope(world.engine) as session:
        return reconcile.reconcile(session, path, by="finance:wang.fang")


def exceptions(world: World) -> list[ReconciliationException]:
    with Session(world.engine) as session:
        query = select(ReconciliationException).order_by(col(ReconciliationException.id))
        return list(session.execute(query).scalars())


def ledger_rows(world: World) -> int:
    with Session(world.engine) as session:
        return int(session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one())


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_statement_that_agrees_records_nothing(world: World, tmp_path: Path, suffix: str) -> None:
    first, second = paid(world.engine, world.redeem(0)), paid(world.engine, world.redeem(1))
    back = returned(world.engine, world.redeem(2), after_paying=True)
    path = tmp_path / f"statement{suffix}"
    write_statement(path, [line(first), line(second), line(back), line(back, kind="return")])
    done = run(world, path)
    assert (done.lines, done.matched, done.exceptions, done.repeated) == (4, 4, {}, False)
    assert done.period == (TODAY, TODAY)
    assert exceptions(world) == []
    entry = last(world.engine, f"bank-statement:{done.statement.split('sha256:')[1]}")
    assert entry["actor"] == "finance:wang.fang"
    assert entry["after"]["lines"] == 4


def test_every_kind_of_difference_becomes_an_exception(world: World, tmp_path: Path) -> None:
    fine = paid(world.engine, world.redeem(0))
    by_reference = paid(world.engine, world.redeem(1))
    short = paid(world.engine, world.redeem(2))
    twice = paid(world.engine, world.redeem(3))
    missing = paid(world.engine, world.redeem(4))
    not_returned = paid(world.engine, world.redeem(5))
    in_flight = paying(world.engine, world.redeem(6))
    old = paid(world.engine, world.redeem(7))
    with db.session_scope(world.engine) as session:  # paid a week before the statement's period
        found = session.get(PayoutItem, old.id)
        assert found is not None
        found.paid_on = TODAY - dt.timedelta(days=7)
    path = tmp_path / "statement.csv"
    write_statement(
        path,
        [
            line(fine),  # row 2
            line(by_reference, idempotency_key=None),  # row 3: matched by the bank's reference
            line(short, amount=Decimal("999.99")),  # row 4
            line(twice),  # row 5
            line(twice, bank_reference="SECOND"),  # row 6
            line(not_returned),  # row 7
            line(not_returned, kind="return"),  # row 8
            line(in_flight, bank_reference="EARLY"),  # row 9
            line(fine, idempotency_key="QQ-P9999999999", bank_reference="STRANGER"),  # row 10
        ],
    )
    before = ledger_rows(world)
    done = run(world, path)
    assert done.matched == 8
    assert done.exceptions == {
        "amount_mismatch": 1,
        "duplicate": 1,
        "not_on_statement": 1,
        "unmatched": 1,
        "unrecorded_payment": 1,
        "unrecorded_return": 1,
    }
    recorded = {(str(e.kind), e.line, e.payout_item_id): e for e in exceptions(world)}
    assert set(recorded) == {
        ("amount_mismatch", 4, short.id),
        ("duplicate", 6, twice.id),
        ("unrecorded_return", 8, not_returned.id),
        ("unrecorded_payment", 9, in_flight.id),
        ("unmatched", 10, None),
        ("not_on_statement", None, missing.id),
    }
    mismatch = recorded["amount_mismatch", 4, short.id]
    assert (mismatch.amount, mismatch.expected) == (Decimal("999.99"), FLAT_YUAN)
    assert "first on row 5" in recorded["duplicate", 6, twice.id].detail
    absent = recorded["not_on_statement", None, missing.id]
    assert (absent.amount, absent.expected, absent.bank_reference) == (
        None,
        FLAT_YUAN,
        missing.bank_reference,
    )
    stranger = recorded["unmatched", 10, None]
    assert (stranger.bank_reference, stranger.amount) == ("STRANGER", FLAT_YUAN)
    assert all(e.statement == done.statement for e in exceptions(world))
    assert ledger_rows(world) == before  # reconciliation reports, it moves no money
    with Session(world.engine) as session:
        assert ledger_check.check(session).balanced


def test_the_net_of_an_offset_payment_is_what_the_bank_paid(world: World, tmp_path: Path) -> None:
    item = paid(world.engine, world.redeem(0), offset=Decimal("250.00"))
    gross = paid(world.engine, world.redeem(2), offset=Decimal("250.00"))
    paid(world.engine, world.redeem(1), offset=FLAT_YUAN)  # net 0: nothing went to the bank
    path = tmp_path / "s.csv"
    write_statement(path, [line(item), line(gross, amount=gross.amount)])
    assert run(world, path).exceptions == {"amount_mismatch": 1}
    (mismatch,) = exceptions(world)
    assert (mismatch.payout_item_id, mismatch.amount) == (gross.id, gross.amount)


def test_the_same_file_twice_records_nothing_new(world: World, tmp_path: Path) -> None:
    item = paid(world.engine, world.redeem(0))
    paid(world.engine, world.redeem(1))  # absent from the statement
    path = tmp_path / "statement.csv"
    write_statement(
        path, [line(item), line(item, idempotency_key="QQ-P0000000404", bank_reference="X")]
    )
    first = run(world, path)
    assert first.exceptions == {"not_on_statement": 1, "unmatched": 1}
    paid(world.engine, world.redeem(2))  # would be one more absentee
    again = run(world, path)
    assert again.repeated
    assert (again.statement, again.exceptions) == (first.statement, {})
    assert len(exceptions(world)) == 2
    renamed = tmp_path / "statement-copy.csv"
    renamed.write_bytes(path.read_bytes())
    assert run(world, renamed).repeated  # the content decides, not the name
    write_statement(path, [line(item)])  # another file: reconciled anew
    assert Counter(run(world, path).exceptions) == Counter({"not_on_statement": 2})


def test_a_bad_statement_is_refused_whole(world: World, tmp_path: Path) -> None:
    item = paid(world.engine, world.redeem(0))
    path = tmp_path / "statement.csv"
    path.write_text(
        "value_date,bank_reference,idempotency_key,kind,amount,reason\n"
        f"{TODAY},{item.bank_reference},{item.idempotency_key},payment,1000.00,\n"
        f"yesterday,R2,,payment,12,\n",
        encoding="utf-8",
    )
    with pytest.raises(BankFileError, match="row 3"):
        run(world, path)
    assert exceptions(world) == []


def test_finance_resolves_an_exception_once(world: World, tmp_path: Path) -> None:
    paid(world.engine, world.redeem(0))
    path = tmp_path / "empty-day.csv"
    other = paid(world.engine, world.redeem(1))
    write_statement(path, [line(other)])
    run(world, path)
    (exception,) = exceptions(world)
    assert exception.id is not None
    with db.session_scope(world.engine) as session:
        reconcile.resolve(session, exception.id, "on the next day's statement", by="finance:li.na")
    (resolved,) = exceptions(world)
    assert resolved.resolved_by == "finance:li.na"
    assert resolved.resolved_at is not None
    entry = last(world.engine, f"reconciliation-exception:{exception.id}")
    assert entry["after"] == {"resolved_by": "finance:li.na", "note": "on the next day's statement"}
    assert entry["before"]["kind"] == "not_on_statement"
    with (
        pytest.raises(AlreadyResolved, match=r"resolved by finance:li\.na"),
        db.session_scope(world.engine) as session,
    ):
        reconcile.resolve(session, exception.id, "again", by="finance:wang.fang")
    with pytest.raises(PayoutNotFound), db.session_scope(world.engine) as session:
        reconcile.resolve(session, 404, "none", by="finance:wang.fang")
