"""Payout benchmark (issue 5): approved redemptions paid through the simulated bank with its
default fault rates, by `qinqing worker` on a Redis broker and PostgreSQL.

    python -m bench.payout [--redemptions 160000] [--workers 1] [--concurrency 2]
                           [--batch-size 1000] [--postgres URL] [--redis URL]

Set-up, not timed: a fresh PostgreSQL schema, a demo registry large enough, one automatic flat
policy matched and granted (every grant approved). Timed: `qinqing payouts run` from the first
gathered item to the last batch settled, with the workers already running. Then it checks that
every paid item was paid exactly once at the bank and that the bank's total, the items' and the
ledger's agree to the fen. Run by hand; the tests never time anything.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from importlib import resources
from pathlib import Path

import redis
from sqlalchemy import func, select
from sqlmodel import Session, col

from bench._common import DEFAULT_POSTGRES, fresh_engine, registry_files
from matching import service as matching_service
from payouts.gateways import Faults, SimulatedBank
from payouts.models import ItemState, PayoutItem
from policies import service as policy_service
from policies.document import load_path
from subsidy import db
from subsidy.ledger.models import Account, LedgerEntry
from subsidy.redemption import automatic
from subsidy.registry import service as registry_service

QINQING = str(Path(sys.executable).parent / "qinqing")
TODAY = dt.date(2020, 6, 30)
POLICY = "bench-payout-300"


def setup(postgres: str, redemptions: int, data_dir: Path) -> int:
    engine = fresh_engine("postgres", postgres, data_dir)
    firms = int(redemptions / 0.88) + 1_000  # ~91% active, ~3% without a bank account
    enterprises, employees = registry_files(firms)
    example = resources.files("policies") / "examples" / "hz-2020-ui-refund.yaml"
    base = load_path(Path(str(example)))
    tests = [
        t.model_copy(update={"expect": t.expect.model_copy(update={"amount": None})})
        for t in base.tests
        if t.expect.eligible
    ]
    document = base.model_copy(
        update={
            "id": POLICY,
            "eligibility": "status == 'active'",
            "amount": "300",
            "cap": None,
            "review_threshold": None,
            "budget": Decimal(300 * redemptions),
            "mode": "automatic",
            "tests": tests,
        }
    )
    started = time.perf_counter()
    with db.session_scope(engine) as session:
        registry_service.import_registry(session, enterprises, employees, data_dir=data_dir)
        policy_service.publish(session, policy_service.approve(document, POLICY), by="bench")
    with db.session_scope(engine) as session:
        runs = matching_service.run_match(session, data_dir, as_of=TODAY)
        granted = automatic.grant_after_match(session, runs, as_of=TODAY)
    print(f"set-up: {granted[0].granted:,} grants in {time.perf_counter() - started:.1f} s")
    engine.dispose()
    return granted[0].granted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redemptions", type=int, default=160_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=1_000)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    redis.Redis.from_url(args.redis).flushdb()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        granted = setup(args.postgres, args.redemptions, data_dir)
        bank = data_dir / "bank.db"
        env = os.environ | {
            "QINQING_DATABASE_URL": args.postgres,
            "QINQING_BROKER_URL": args.redis,
            "QINQING_DATA_DIR": str(data_dir),
            "QINQING_BANK_URL": f"simulated://{bank}?seed=2020",  # default fault rates
            "QINQING_PAYOUT_BACKOFF_SECONDS": "0.5",
        }
        workers = [
            subprocess.Popen(
                [QINQING, "worker", "--concurrency", str(args.concurrency)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            for _ in range(args.workers)
        ]
        try:
            time.sleep(5)  # workers up before the clock starts
            started = time.perf_counter()
            command = [QINQING, "payouts", "run", "--batch-size", str(args.batch_size)]
            run = subprocess.Popen(
                [*command, "--wait", "1800"], env=env, stdout=subprocess.PIPE, text=True
            )
            assert run.stdout is not None
            for line in run.stdout:  # each stage's line, stamped with the time it arrived
                print(f"[{time.perf_counter() - started:6.1f} s] {line}", end="", flush=True)
            if run.wait() != 0:
                raise SystemExit(f"qinqing payouts run failed ({run.returncode})")
            elapsed = time.perf_counter() - started
        finally:
            for worker in workers:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=60)
        report(args.postgres, bank, granted, elapsed)


def report(postgres: str, bank_path: Path, granted: int, elapsed: float) -> None:
    engine = db.make_engine(postgres)
    with Session(engine) as session:
        items = list(session.execute(select(PayoutItem)).scalars())
        entered, left = (
            session.execute(
                select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(side == Account.PAID)
            ).scalar_one()
            for side in (col(LedgerEntry.target), col(LedgerEntry.source))
        )
        paid_ledger = Decimal(entered) - Decimal(left)
    bank = SimulatedBank(bank_path, Faults.none())
    paid = [i for i in items if i.state == ItemState.PAID]
    returned = [i for i in items if i.state == ItemState.RETURNED]
    payments = bank.payments_by_key()
    # Paid: money left once. Returned: once if it was paid and came back (it has the bank's
    # reference), never if the bank refused it.
    twice = [i.id for i in paid if payments.get(i.idempotency_key) != 1]
    twice += [
        i.id
        for i in returned
        if payments.get(i.idempotency_key, 0) != (1 if i.bank_reference else 0)
    ]
    paid_here = sum((i.net for i in paid), Decimal("0.00"))
    kept_by_firms = bank.paid_total() - bank.returned_total()
    stats = bank.stats()
    print(f"{granted:,} approved redemptions, {len(items):,} items")
    still_open = len(items) - len(paid) - len(returned)
    print(f"{len(paid):,} paid, {len(returned):,} returned, {still_open:,} open")
    print(f"{elapsed:.1f} s, {len(items) / elapsed:,.0f} items/s")
    print(f"bank: {stats}")
    print(
        f"exactly once: {not twice} ({len(twice)} not paid exactly once); bank paid less "
        f"returned {kept_by_firms:,.2f}, items paid {paid_here:,.2f}, "
        f"ledger paid {Decimal(paid_ledger):,.2f}"
    )


if __name__ == "__main__":
    main()
