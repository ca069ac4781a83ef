"""Reconciliation across statement files: a second payment on a later file is a duplicate naming
the earlier file and row; a line repeated by an overlapping statement is the same transaction,
recorded once; splitting a statement in two finds what it finds whole."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, inspect, select
from sqlmodel import Session, col

from payouts import reconcile
from payouts.models import (
    ExceptionKind,
    PayoutItem,
    ReconciliationException,
    StatementLineRecord,
)
from payouts.statement import StatementLine, write_statement
from subsidy import db
from tests.payouts.payments import FLAT_YUAN, World, paid, paying, returned
from tests.payouts.test_reconcile import exceptions, line, run
from tests.redemption.helpers import TODAY

YESTERDAY, TOMORROW = TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=1)


def statement_lines(world: World) -> list[StatementLineRecord]:
    with Session(world.engine) as session:
        query = select(StatementLineRecord).order_by(col(StatementLineRecord.id))
        return list(session.execute(query).scalars())


def paid_on(world: World, item: PayoutItem, day: dt.date) -> None:
    """Our record of the day the bank paid `item` (what `not_on_statement` compares with)."""
    with db.session_scope(world.engine) as session:
        found = session.get_one(PayoutItem, item.id)
        found.paid_on = day


def test_a_second_payment_on_a_later_statement_is_a_duplicate(world: World, tmp_path: Path) -> None:
    item, other = paid(world.engine, world.redeem(0)), paid(world.engine, world.redeem(1))
    paid_on(world, item, YESTERDAY)
    monday, tuesday, wednesday = (tmp_path / f"{day}.csv" for day in ("mon", "tue", "wed"))
    write_statement(monday, [line(item, value_date=YESTERDAY)])
    assert run(world, monday).exceptions == {}
    write_statement(tuesday, [line(other), line(item, bank_reference="SECOND")])
    done = run(world, tuesday)
    assert (done.matched, done.already_seen, done.exceptions) == (2, 0, {"duplicate": 1})
    (duplicate,) = exceptions(world)
    assert (duplicate.kind, duplicate.statement, duplicate.line) == (
        ExceptionKind.DUPLICATE,
        done.statement,
        3,
    )
    assert (duplicate.payout_item_id, duplicate.bank_reference) == (item.id, "SECOND")
    assert (duplicate.amount, duplicate.expected) == (FLAT_YUAN, FLAT_YUAN)
    assert duplicate.detail == (
        f"a second payment of {item.idempotency_key}: bank reference SECOND here, "
        f"{item.bank_reference} in statement mon.csv row 2"
    )
    write_statement(wednesday, [line(item, bank_reference="THIRD", value_date=TOMORROW)])
    assert run(world, wednesday).exceptions == {"duplicate": 1}
    assert "THIRD here, " in exceptions(world)[-1].detail
    assert exceptions(world)[-1].detail.endswith("in statement mon.csv row 2")  # the first


def test_the_same_reference_with_another_amount_or_day_is_a_duplicate(
    world: World, tmp_path: Path
) -> None:
    item = paid(world.engine, world.redeem(0))
    first, second, third = (tmp_path / f"{n}.csv" for n in ("first", "second", "third"))
    write_statement(first, [line(item)])
    run(world, first)
    write_statement(second, [line(item, amount=Decimal("999.99"))])
    assert run(world, second).exceptions == {"duplicate": 1}
    reference = item.bank_reference
    assert exceptions(world)[-1].detail == (
        f"a second payment of {item.idempotency_key}: bank reference {reference} here, "
        f"{reference} in statement first.csv row 2 (999.99 on {TODAY} here, 1000.00 on {TODAY} "
        "there)"
    )
    write_statement(third, [line(item, value_date=YESTERDAY)])
    assert run(world, third).exceptions == {"duplicate": 1}


def test_overlapping_statements_record_a_repeated_line_once(world: World, tmp_path: Path) -> None:
    early, late = paid(world.engine, world.redeem(0)), paid(world.engine, world.redeem(1))
    wrong = paid(world.engine, world.redeem(2))
    for item in (early, wrong):
        paid_on(world, item, YESTERDAY)
    monday, monday_to_tuesday = tmp_path / "mon.csv", tmp_path / "mon-tue.csv"
    yesterdays = [
        line(early, value_date=YESTERDAY),
        line(wrong, amount=Decimal("1.00"), value_date=YESTERDAY),
    ]
    write_statement(monday, yesterdays)
    assert run(world, monday).exceptions == {"amount_mismatch": 1}
    write_statement(monday_to_tuesday, [*yesterdays, line(late)])
    done = run(world, monday_to_tuesday)
    assert (done.matched, done.already_seen, done.exceptions) == (3, 2, {})
    assert len(exceptions(world)) == 1  # the wrong amount was recorded once, by Monday's file
    remembered = [(x.statement_file, x.line, x.payout_item_id) for x in statement_lines(world)]
    assert remembered == [
        ("mon.csv", 2, early.id),
        ("mon.csv", 3, wrong.id),
        ("mon-tue.csv", 2, early.id),
        ("mon-tue.csv", 3, wrong.id),
        ("mon-tue.csv", 4, late.id),
    ]


def test_a_second_payment_before_a_repeated_one_is_the_only_duplicate(
    world: World, tmp_path: Path
) -> None:
    item = paid(world.engine, world.redeem(0))
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    write_statement(first, [line(item)])
    run(world, first)
    write_statement(second, [line(item, bank_reference="AGAIN"), line(item)])
    done = run(world, second)
    assert (done.already_seen, done.exceptions) == (1, {"duplicate": 1})
    (duplicate,) = exceptions(world)
    assert (duplicate.line, duplicate.bank_reference) == (2, "AGAIN")


def test_a_return_on_a_later_statement_of_an_earlier_payment(world: World, tmp_path: Path) -> None:
    back = returned(world.engine, world.redeem(0), after_paying=True)
    not_back = paid(world.engine, world.redeem(1))
    payments, returns, again = (tmp_path / f"{n}.csv" for n in ("payments", "returns", "again"))
    write_statement(payments, [line(back), line(not_back)])
    assert run(world, payments).exceptions == {}
    returns_lines = [line(x, kind="return", value_date=TOMORROW) for x in (back, not_back)]
    write_statement(returns, returns_lines)
    done = run(world, returns)
    assert (done.matched, done.already_seen) == (2, 0)
    assert done.exceptions == {"unrecorded_return": 1}  # as within one file: no duplicate
    write_statement(
        again,
        [
            returns_lines[1],  # the bank's return of it, reported again
            line(back, kind="return", bank_reference="OTHER", value_date=TOMORROW),
        ],
    )
    done = run(world, again)
    assert (done.already_seen, done.exceptions) == (1, {"duplicate": 1})
    assert exceptions(world)[-1].detail == (
        f"a second return of {back.idempotency_key}: bank reference OTHER here, "
        f"{back.bank_reference} in statement returns.csv row 2"
    )


def test_the_same_file_twice_remembers_its_lines_once(world: World, tmp_path: Path) -> None:
    item = paid(world.engine, world.redeem(0))
    path = tmp_path / "statement.csv"
    write_statement(path, [line(item), line(item, bank_reference="SECOND")])
    assert run(world, path).exceptions == {"duplicate": 1}
    copy = tmp_path / "copy.csv"
    copy.write_bytes(path.read_bytes())
    for again in (path, copy):
        done = run(world, again)
        assert (done.repeated, done.exceptions, done.already_seen) == (True, {}, 0)
    assert len(exceptions(world)) == 1
    assert [x.line for x in statement_lines(world)] == [2, 3]


@pytest.fixture
def statements_sql(world: World) -> Iterator[list[str]]:
    """Every SQL statement sent while the test runs."""
    sent: list[str] = []

    def log(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(world.engine, "before_cursor_execute", log)
    yield sent
    event.remove(world.engine, "before_cursor_execute", log)


def test_earlier_lines_are_read_under_the_lock_and_lines_written_at_once(
    world: World, tmp_path: Path, statements_sql: list[str]
) -> None:
    items = [paid(world.engine, world.redeem(n)) for n in range(3)]
    path = tmp_path / "statement.csv"
    write_statement(path, [line(item) for item in items])
    statements_sql.clear()
    run(world, path)
    lock = next(n for n, sql in enumerate(statements_sql) if "FROM audit_head" in sql)
    reads = [n for n, sql in enumerate(statements_sql) if "FROM statement_line" in sql]
    assert reads
    assert lock < min(reads)  # what another statement committed meanwhile is seen
    writes = [sql for sql in statements_sql if sql.startswith("INSERT INTO statement_line")]
    assert len(writes) == 1
    assert len(statement_lines(world)) == 3


def test_the_statement_line_migration_goes_down_and_up(world: World, tmp_path: Path) -> None:
    item = paid(world.engine, world.redeem(0))
    path = tmp_path / "statement.csv"
    write_statement(path, [line(item)])
    run(world, path)
    command.downgrade(db.alembic_config(world.engine), "0010")
    assert db.current_revision(world.engine) == "0010"
    assert "statement_line" not in inspect(world.engine).get_table_names()
    db.upgrade(world.engine)
    inspector = inspect(world.engine)
    table = StatementLineRecord.__table__  # type: ignore[attr-defined]
    assert {c["name"] for c in inspector.get_columns("statement_line")} == set(table.columns.keys())
    indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes("statement_line")}
    assert indexes["ix_statement_line_item"] == ["payout_item_id", "kind"]
    with Session(world.engine) as session:
        count = select(func.count()).select_from(StatementLineRecord)
        assert session.execute(count).scalar_one() == 0


# --- one statement or the same lines in two files ------------------------------------------------


@pytest.fixture
def pool(world: World) -> list[PayoutItem]:
    """Items in every state a line can meet: paid (one with an offset), paid and returned,
    refused, still at the bank."""
    return [
        paid(world.engine, world.redeem(0)),
        paid(world.engine, world.redeem(1)),
        paid(world.engine, world.redeem(2), offset=Decimal("250.00")),
        returned(world.engine, world.redeem(3), after_paying=True),
        returned(world.engine, world.redeem(4)),
        paying(world.engine, world.redeem(5)),
    ]


def _reference(item: PayoutItem, which: str) -> str:
    own = item.bank_reference or f"REF{item.id}"
    return own if which == "own" else f"{which}-{item.id}"  # another transaction for the item


def _statement_line(
    item: PayoutItem, kind: str, reference: str, key: str, amount_off: bool, day: dt.date
) -> StatementLine:
    return StatementLine(
        value_date=day,
        bank_reference=_reference(item, reference),
        idempotency_key={"own": item.idempotency_key, "none": None}.get(key, "QQ-P0000009999"),
        kind="payment" if kind == "payment" else "return",
        amount=item.net + (Decimal("0.01") if amount_off else 0),
    )


def statement_lines_of(pool: list[PayoutItem]) -> st.SearchStrategy[list[StatementLine]]:
    one = st.builds(
        _statement_line,
        item=st.sampled_from(pool[:2]) | st.sampled_from(pool),  # the first two: more duplicates
        kind=st.sampled_from(["payment", "return"]),
        reference=st.sampled_from(["own", "ALT1", "ALT2"]),
        key=st.sampled_from(["own", "none", "stranger"]),
        amount_off=st.booleans(),
        day=st.sampled_from([YESTERDAY, TODAY]),
    )
    # the file format: a (bank reference, kind) pair at most once per statement
    return st.lists(one, min_size=2, max_size=10, unique_by=lambda x: (x.bank_reference, x.kind))


Found = tuple[str, int | None, str | None, Decimal | None, Decimal | None, int]


def _found(session: Session, first_rows: dict[str, int]) -> Counter[Found]:
    """The exceptions but `not_on_statement` (a file's own date span decides those), each with
    the position of its line in the whole statement: files are told apart by name."""
    query = select(ReconciliationException).where(
        col(ReconciliationException.kind) != ExceptionKind.NOT_ON_STATEMENT
    )
    found: Counter[Found] = Counter()
    for x in session.execute(query).scalars():
        assert x.line is not None
        position = first_rows[x.statement.split(" ")[0]] + x.line - 2
        found[str(x.kind), x.payout_item_id, x.bank_reference, x.amount, x.expected, position] += 1
    return found


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_statement_split_in_two_files_finds_what_it_finds_whole(
    world: World, pool: list[PayoutItem], tmp_path: Path, data: st.DataObject
) -> None:
    """Lines[:cut] then lines[start:] (start <= cut: the files may overlap) record the exceptions
    of one file with all the lines, except that an unmatched line in both files is reported by
    both (only matched lines are remembered), and `not_on_statement`."""
    lines = data.draw(statement_lines_of(pool), label="lines")
    cut = data.draw(st.integers(0, len(lines)), label="cut")
    start = data.draw(st.integers(0, cut), label="start")
    assume((start, cut) != (0, len(lines)))  # else the second file is the first again
    whole, first, second = (tmp_path / f"{n}.csv" for n in ("whole", "first", "second"))
    write_statement(whole, lines)
    write_statement(first, lines[:cut])
    write_statement(second, lines[start:])
    # each in a transaction rolled back, so every example starts from the same database
    with Session(world.engine) as session:
        one = reconcile.reconcile(session, whole, by="finance:wang.fang")
        expected = _found(session, {"whole.csv": 0})
        session.rollback()
    with Session(world.engine) as session:
        split = [reconcile.reconcile(session, x, by="finance:wang.fang") for x in (first, second)]
        found = _found(session, {"first.csv": 0, "second.csv": start})
        session.rollback()
    overlap = range(start, cut)
    unmatched_twice = Counter(
        x for x in expected.elements() if x[0] == "unmatched" and x[-1] in overlap
    )
    assert found == expected + unmatched_twice
    assert split[1].already_seen == len(overlap) - unmatched_twice.total()
    assert split[0].matched + split[1].matched == one.matched + split[1].already_seen
