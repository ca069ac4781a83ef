"""The simulated bank: a key paid at most once across calls, faults and processes; reproducible."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payouts.gateways import (
    BankError,
    Faults,
    InstructionConflict,
    ItemResult,
    ItemStatus,
    OutcomeUnknown,
    PaymentInstruction,
    SimulatedBank,
    StatementLine,
    TransientBankError,
)
from payouts.gateways._faults import REJECT_REASONS, RETURN_REASONS
from tests.payouts.factories import instruction, instructions

NO_FAULTS = Faults.none()
STORMY = Faults(seed=11, transient_rate=0.3, reject_rate=0.2, lost_answer_rate=0.3, return_rate=0.2)
ROOT = Path(__file__).parents[2]


def keys(batch: list[PaymentInstruction]) -> list[str]:
    return [i.idempotency_key for i in batch]


def until_answered(bank: SimulatedBank, batch: list[PaymentInstruction]) -> list[ItemResult]:
    """Resubmit through every fault until the bank answers, as the payout code will."""
    for _ in range(200):
        try:
            return bank.submit(batch)
        except (TransientBankError, OutcomeUnknown):
            continue
    raise AssertionError("the bank never answered")


def test_pays_each_instruction_and_answers_in_order(tmp_path: Path) -> None:
    bank = SimulatedBank(tmp_path / "bank.db", NO_FAULTS)
    batch = instructions(5)
    results = bank.submit(batch)
    assert [r.idempotency_key for r in results] == keys(batch)
    assert {r.status for r in results} == {ItemStatus.PAID}
    assert len({r.bank_reference for r in results}) == 5
    assert bank.query([*keys(batch), "never-sent"]) == [
        *results,
        ItemResult("never-sent", ItemStatus.NOT_FOUND),
    ]
    assert bank.paid_total() == sum(i.amount for i in batch)


def test_a_resubmitted_key_answers_its_stored_result_and_is_paid_once(tmp_path: Path) -> None:
    bank = SimulatedBank(tmp_path / "bank.db", NO_FAULTS)
    first = bank.submit(instructions(3))
    for _ in range(9):
        assert bank.submit(instructions(3)) == first
    assert [bank.times_paid(k) for k in keys(instructions(3))] == [1, 1, 1]
    stats = bank.stats()
    assert (stats.items, stats.submit_attempts, stats.max_times_paid) == (3, 30, 1)


def test_a_key_twice_in_one_call_is_paid_once(tmp_path: Path) -> None:
    bank = SimulatedBank(tmp_path / "bank.db", NO_FAULTS)
    one = instruction(1)
    first, second = bank.submit([one, one])
    assert first == second
    assert bank.times_paid(one.idempotency_key) == 1


def test_a_key_back_with_another_amount_or_account_is_refused(tmp_path: Path) -> None:
    bank = SimulatedBank(tmp_path / "bank.db", NO_FAULTS)
    bank.submit([instruction(1)])
    with pytest.raises(InstructionConflict, match="payout-item-1"):
        bank.submit([instruction(2), instruction(1, amount=Decimal("1.00"))])
    with pytest.raises(InstructionConflict):
        bank.submit([instruction(1, account="6222000000000000000")])
    with pytest.raises(InstructionConflict):
        bank.submit([instruction(3), instruction(3, amount=Decimal("2.00"))])
    assert bank.query(["payout-item-2", "payout-item-3"])[0].status == ItemStatus.NOT_FOUND
    assert bank.paid_total() == instruction(1).amount
    # the memo and the batch are not the payment: resubmitting under another batch is the same key
    assert bank.submit([instruction(1, batch_ref="B2020-002", memo="retry")])[0].status == "paid"


def test_a_transient_error_did_nothing(tmp_path: Path) -> None:
    busy = SimulatedBank(tmp_path / "bank.db", Faults(transient_rate=1.0))
    with pytest.raises(TransientBankError):
        busy.submit(instructions(10))
    teller = SimulatedBank(tmp_path / "bank.db", NO_FAULTS)
    assert {r.status for r in teller.query(keys(instructions(10)))} == {ItemStatus.NOT_FOUND}
    stats = teller.stats()
    assert (stats.items, stats.submit_attempts, stats.calls) == (0, 0, 2)
    assert stats.paid_total == 0
    assert teller.statement(date.min, date.max) == []


def test_a_lost_answer_was_processed_all_the_same(tmp_path: Path) -> None:
    lossy = SimulatedBank(tmp_path / "bank.db", Faults(lost_answer_rate=1.0))
    batch = instructions(10)
    with pytest.raises(OutcomeUnknown):
        lossy.submit(batch)
    teller = SimulatedBank(tmp_path / "bank.db", NO_FAULTS)
    assert {r.status for r in teller.query(keys(batch))} == {ItemStatus.PAID}
    with pytest.raises(OutcomeUnknown):
        lossy.submit(batch)  # answer lost again, and still nothing paid twice
    assert {teller.times_paid(k) for k in keys(batch)} == {1}
    assert teller.paid_total() == sum(i.amount for i in batch)


def test_rejections_are_permanent_and_pay_nothing(tmp_path: Path) -> None:
    refusing = Faults(seed=3, transient_rate=0, lost_answer_rate=0, reject_rate=1.0)
    bank = SimulatedBank(tmp_path / "bank.db", refusing)
    first = bank.submit(instructions(8))
    assert {r.status for r in first} == {ItemStatus.REJECTED}
    assert {(r.reason_code, r.reason) for r in first} <= set(REJECT_REASONS)
    assert all(r.bank_reference is None for r in first)
    assert bank.submit(instructions(8)) == first
    # the refusal belongs to the key, not to the attempt: a new bank with the seed agrees
    assert SimulatedBank(tmp_path / "other.db", refusing).submit(instructions(8)) == first
    assert bank.paid_total() == 0
    assert bank.statement(date.min, date.max) == []


def test_closed_accounts_are_refused_as_closed(tmp_path: Path) -> None:
    closed = instruction(2).account
    bank = SimulatedBank(tmp_path / "bank.db", NO_FAULTS, closed_accounts={closed})
    results = bank.submit(instructions(4))
    assert [r.status for r in results] == ["paid", "paid", "rejected", "paid"]
    assert (results[2].reason_code, results[2].reason) == ("AC04", "account closed")
    assert bank.times_paid(instruction(2).idempotency_key) == 0


def test_the_default_faults_are_the_documented_ones() -> None:
    assert Faults() == Faults(0, (0, 0), 0.02, 0.005, 0.01, 0.003, 0.0)
    with pytest.raises(ValueError, match="transient_rate"):
        Faults(transient_rate=1.5)
    with pytest.raises(ValueError, match="latency_ms"):
        Faults(latency_ms=(5, 1))


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2020, 6, 1, 9, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_a_return_surfaces_after_its_delay_in_query_and_statement(tmp_path: Path) -> None:
    clock = Clock()
    faults = Faults(transient_rate=0, lost_answer_rate=0, reject_rate=0, return_rate=1.0)
    bank = SimulatedBank(tmp_path / "bank.db", replace(faults, return_delay_s=3600), clock=clock)
    paid = bank.submit([instruction(1)])[0]
    assert paid.status == ItemStatus.PAID
    clock.now += timedelta(minutes=59)
    assert bank.query([paid.idempotency_key]) == [paid]
    clock.now += timedelta(days=1)
    (returned,) = bank.query([paid.idempotency_key])
    assert returned.status == ItemStatus.RETURNED
    assert returned.bank_reference == paid.bank_reference
    assert (returned.reason_code, returned.reason) in RETURN_REASONS
    assert bank.submit([instruction(1)]) == [returned]  # the stored result, now returned
    amount = instruction(1).amount
    assert bank.statement(date(2020, 6, 1), date(2020, 6, 30)) == [
        StatementLine(
            date(2020, 6, 1), str(paid.bank_reference), paid.idempotency_key, "payment", amount
        ),
        StatementLine(
            date(2020, 6, 2),
            str(paid.bank_reference),
            paid.idempotency_key,
            "return",
            amount,
            returned.reason,
        ),
    ]
    assert bank.statement(date(2020, 6, 2), date(2020, 6, 2))[0].kind == "return"
    assert bank.paid_total() == bank.returned_total() == amount
    assert bank.times_paid(paid.idempotency_key) == 1


def outcomes(bank: SimulatedBank, calls: list[list[PaymentInstruction]]) -> list[object]:
    """What each call answered: its results, or the kind of error it raised."""
    seen: list[object] = []
    for batch in calls:
        try:
            seen.append(bank.submit(batch))
        except BankError as exc:
            seen.append(type(exc).__name__)
    return seen


SCRIPT = [instructions(20), instructions(20), instructions(30, 10), instructions(5, 40)] * 3


def test_the_same_seed_makes_the_same_decisions(tmp_path: Path) -> None:
    first = outcomes(SimulatedBank(tmp_path / "a.db", STORMY), SCRIPT)
    again = outcomes(SimulatedBank(tmp_path / "b.db", STORMY), SCRIPT)
    other = outcomes(
        SimulatedBank(tmp_path / "c.db", Faults(12, (0, 0), 0.3, 0.2, 0.3, 0.2)), SCRIPT
    )
    assert first == again
    assert first != other
    assert {"TransientBankError", "OutcomeUnknown"} <= {o for o in first if isinstance(o, str)}


def test_what_happens_to_a_key_does_not_depend_on_the_order_of_calls(tmp_path: Path) -> None:
    faults = Faults(seed=5, transient_rate=0, lost_answer_rate=0, reject_rate=0.3, return_rate=0)
    batch = instructions(60)
    at_once = SimulatedBank(tmp_path / "a.db", faults).submit(batch)
    piecemeal = SimulatedBank(tmp_path / "b.db", faults)
    backwards = batch[::-1]
    for start in range(0, 60, 7):
        piecemeal.submit(backwards[start : start + 7])
    assert piecemeal.query(keys(batch)) == at_once
    assert {r.status for r in at_once} == {ItemStatus.PAID, ItemStatus.REJECTED}


def test_two_banks_on_one_file_pay_each_key_once_under_faults(tmp_path: Path) -> None:
    teller_a = SimulatedBank(tmp_path / "bank.db", STORMY)
    teller_b = SimulatedBank(
        tmp_path / "bank.db", Faults(seed=99, transient_rate=0.3, lost_answer_rate=0.3)
    )
    batch = instructions(40)
    for round_ in range(6):
        for teller in (teller_a, teller_b):
            with suppress(TransientBankError, OutcomeUnknown):
                teller.submit(batch[round_ * 3 :])
    final = until_answered(teller_b, batch)
    assert {r.status for r in final} == {"paid", "rejected", "returned"}
    assert_books_balance(teller_a, final)


def test_threads_hammering_one_file_pay_each_key_once(tmp_path: Path) -> None:
    batch = instructions(200)
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        teller = SimulatedBank(tmp_path / "bank.db", Faults(seed, (0, 2), 0.2, 0.05, 0.2, 0.0))
        try:
            for start in range(0, 200, 25):
                until_answered(teller, batch[start : start + 50])
        except BaseException as exc:  # the main thread reports it
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    teller = SimulatedBank(tmp_path / "bank.db", NO_FAULTS)
    assert_books_balance(teller, teller.query(keys(batch)))
    assert teller.stats().max_times_paid == 1


def assert_books_balance(bank: SimulatedBank, results: list[ItemResult]) -> None:
    """Every key paid at most once; the money that left is exactly that of the paid keys."""
    by_key = {r.idempotency_key: r for r in results}
    amounts = {i.idempotency_key: i.amount for i in instructions(1000)}
    assert all(bank.times_paid(k) == (r.status in ("paid", "returned")) for k, r in by_key.items())
    paid = sum(
        (amounts[k] for k, r in by_key.items() if r.status in ("paid", "returned")), Decimal(0)
    )
    assert bank.paid_total() == paid
    assert bank.stats().max_times_paid <= 1


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    calls=st.lists(st.lists(st.integers(0, 15), min_size=1, max_size=8), min_size=1, max_size=12),
    rates=st.tuples(*[st.sampled_from([0.0, 0.1, 0.5, 1.0])] * 4),
)
def test_any_calls_under_any_faults_pay_each_key_at_most_once(
    seed: int, calls: list[list[int]], rates: tuple[float, float, float, float]
) -> None:
    transient, reject, lost, returned = rates
    faults = Faults(seed, (0, 0), transient, reject, lost, returned)
    with tempfile.TemporaryDirectory() as folder:
        bank = SimulatedBank(Path(folder) / "bank.db", faults)
        answered_paid: set[str] = set()
        for numbers in calls:
            try:
                results = bank.submit([instruction(n) for n in numbers])
            except (TransientBankError, OutcomeUnknown):
                continue
            answered_paid |= {r.idempotency_key for r in results if r.status == ItemStatus.PAID}
        teller = SimulatedBank(Path(folder) / "bank.db", NO_FAULTS)
        everything = teller.query(keys(instructions(16)))
        executed = {r.idempotency_key for r in everything if r.status in ("paid", "returned")}
        assert answered_paid <= executed
        assert all(teller.times_paid(k) == (k in executed) for k in keys(instructions(16)))
        amounts = {i.idempotency_key: i.amount for i in instructions(16)}
        assert teller.paid_total() == sum((amounts[k] for k in executed), Decimal(0))
        bank.close()
        teller.close()


KILLED_WORKER = """
import sys
from payouts.gateways import Faults, OutcomeUnknown, SimulatedBank, TransientBankError
from tests.payouts.factories import instructions

bank = SimulatedBank(sys.argv[1], Faults(seed=1, latency_ms=(0, 3)))
print("ready", flush=True)
batch = instructions(6_000)
while True:
    for start in range(0, len(batch), 500):
        try:
            bank.submit(batch[start : start + 500])
        except (TransientBankError, OutcomeUnknown):
            pass
"""


def test_a_worker_killed_mid_batch_leaves_whole_calls_and_a_restart_pays_the_rest_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bank.db"
    worker = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(KILLED_WORKER), str(path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
    )
    assert worker.stdout is not None
    assert worker.stdout.readline() == b"ready\n"
    bank = SimulatedBank(path, NO_FAULTS)
    wait_for(lambda: bank.stats().items >= 1_500)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    with sqlite3.connect(path) as db:
        (items,) = db.execute("SELECT count(*) FROM payment").fetchone()
        (unbooked,) = db.execute(
            "SELECT count(*) FROM payment p WHERE p.status != 'rejected' AND NOT EXISTS "
            "(SELECT 1 FROM movement m WHERE m.idempotency_key = p.idempotency_key)"
        ).fetchone()
    assert items % 500 == 0  # whole calls only: a call is one transaction
    assert unbooked == 0
    batch = instructions(6_000)
    results = []
    for start in range(0, len(batch), 2_000):
        results += bank.submit(batch[start : start + 2_000])
    assert bank.stats().max_times_paid == 1
    assert bank.stats().items == 6_000
    executed = [i.amount for i, r in zip(batch, results, strict=True) if r.status != "rejected"]
    assert bank.paid_total() == sum(executed)


def wait_for(condition: Callable[[], bool], timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_each_call_sleeps_its_latency(tmp_path: Path) -> None:
    bank = SimulatedBank(tmp_path / "bank.db", replace(NO_FAULTS, latency_ms=(30, 30)))
    started = time.perf_counter()
    bank.submit(instructions(2))
    assert time.perf_counter() - started >= 0.03


def _submit_in_child(bank: SimulatedBank, start: int) -> None:
    until_answered(bank, instructions(100, start))


def test_a_bank_made_before_a_fork_works_in_the_children(tmp_path: Path) -> None:
    """Celery's prefork pool: the bank is built in the parent, used in forked children."""
    bank = SimulatedBank(tmp_path / "bank.db", Faults(seed=4, transient_rate=0.2))
    until_answered(bank, instructions(100))  # the parent's connection is open before the fork
    forked = multiprocessing.get_context("fork")
    children = [forked.Process(target=_submit_in_child, args=(bank, s)) for s in (50, 100)]
    for child in children:
        child.start()
    for child in children:
        child.join()
    assert [child.exitcode for child in children] == [0, 0]
    until_answered(bank, instructions(250))
    assert_books_balance(bank, bank.query(keys(instructions(250))))
    assert bank.stats().items == 250
