"""The ledger check over a city's worth of redemptions: `python -m bench.ledger_check`.

Writes N redemptions (default 160,000) over 100 policies, in every status, with the ledger rows,
payout items and budgets they would have, straight into a fresh SQLite file, then times
`payouts.ledger_check.check`, balanced and with one planted imbalance. PostgreSQL is left out
here: point `--postgres` only at a database you can lose.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, insert, text
from sqlmodel import Session

from bench._common import DEFAULT_POSTGRES, fresh_engine
from payouts import ledger_check
from payouts.models import BatchState, ItemState, PayoutBatch, PayoutItem
from policies.models import Policy, PolicyState
from subsidy.db import utcnow
from subsidy.ledger.models import LedgerEntry
from subsidy.redemption.models import PolicyBudget, Redemption

POLICIES = 100
STATUSES = ("held", "approved", "paying", "paid", "returned", "reversed")
WEIGHTS = (0.05, 0.15, 0.05, 0.65, 0.03, 0.07)
_MOVES = {  # where each status has moved its money, from the budget on
    "held": [("budget", "reserved")],
    "approved": [("budget", "reserved"), ("reserved", "payable")],
    "paying": [("budget", "reserved"), ("reserved", "payable")],
    "paid": [("budget", "reserved"), ("reserved", "payable"), ("payable", "paid")],
    "returned": [("budget", "reserved"), ("reserved", "payable")],
    "reversed": [
        ("budget", "reserved"),
        ("reserved", "payable"),
        ("payable", "paid"),
        ("paid", "receivable"),
    ],
}


def populate(engine: Engine, count: int, seed: int = 2020) -> None:
    rng = np.random.default_rng(seed)
    now = utcnow()
    policies = [f"bench-{n:03d}" for n in range(POLICIES)]
    statuses = rng.choice(len(STATUSES), size=count, p=WEIGHTS)
    amounts = rng.integers(100, 300_000, size=count)  # yuan
    which = rng.integers(0, POLICIES, size=count)
    redemptions, entries, items = [], [], []
    reserved: dict[str, Decimal] = defaultdict(Decimal)
    for n in range(count):
        rid, status = n + 1, STATUSES[statuses[n]]
        policy, amount = policies[which[n]], Decimal(int(amounts[n]))
        uscc = f"91330100{n:09d}X"
        redemptions.append(
            {
                "id": rid,
                "uscc": uscc,
                "policy_id": policy,
                "policy_version": 1,
                "amount": amount,
                "status": status,
                "idempotency_key": f"k{n}",
                "created_at": now,
                "changed_by": f"enterprise:{uscc}",
            }
        )
        for source, target in _MOVES[status]:
            entries.append(
                {
                    "at": now,
                    "policy_id": policy,
                    "uscc": uscc,
                    "redemption_id": rid,
                    "source": source,
                    "target": target,
                    "amount": amount,
                    "memo": "bench",
                }
            )
        if status != "reversed":
            reserved[policy] += amount
        if status in ("paying", "paid", "returned", "reversed"):
            state = {"paying": ItemState.SUBMITTED, "returned": ItemState.RETURNED}.get(
                status, ItemState.PAID
            )
            items.append(
                {
                    "batch_id": 1 + n // 1_000,
                    "redemption_id": rid,
                    "policy_id": policy,
                    "uscc": uscc,
                    "payee_name": uscc,
                    "bank_code": "ICBC",
                    "account": "6222020000000000001",
                    "amount": amount,
                    "offset": Decimal(0),
                    "net": amount,
                    "state": str(state),
                    "attempts": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    batches = [
        {"id": b, "bank_code": "ICBC", "state": str(BatchState.DONE), "items": 0, "total": 0}
        | {"created_at": now}
        for b in range(1, count // 1_000 + 2)
    ]
    with Session(engine) as session:
        published = {"state": PolicyState.PUBLISHED, "latest_version": 1, "updated_at": now}
        session.execute(
            insert(Policy),
            [{"id": p, "title": p, "title_en": p, "created_at": now} | published for p in policies],
        )
        budget = Decimal(10**10)
        session.execute(
            insert(PolicyBudget),
            [{"policy_id": p, "budget": budget, "reserved": reserved[p]} for p in policies],
        )
        session.execute(insert(Redemption), redemptions)
        session.execute(insert(LedgerEntry), entries)
        session.execute(insert(PayoutBatch), batches)
        session.execute(insert(PayoutItem), items)
        session.commit()


def timed(engine: Engine) -> tuple[float, ledger_check.LedgerReport]:
    started = time.perf_counter()
    with Session(engine) as session:
        report = ledger_check.check(session)
    return time.perf_counter() - started, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redemptions", type=int, default=160_000)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        engine = fresh_engine(args.database, args.postgres, Path(workdir))
        started = time.perf_counter()
        populate(engine, args.redemptions)
        print(f"wrote {args.redemptions:,} redemptions in {time.perf_counter() - started:.1f} s")
        for attempt in (1, 2):
            seconds, report = timed(engine)
            print(
                f"check {attempt}: {seconds:.2f} s, {report.entries:,} ledger rows, "
                f"{report.policies} policies, balanced: {report.balanced}"
            )
        with Session(engine) as session:
            session.execute(text("UPDATE ledger_entry SET amount = amount + 1 WHERE id = 7"))
            session.commit()
        seconds, report = timed(engine)
        print(f"with one planted imbalance: {seconds:.2f} s")
        for imbalance in report.imbalances:
            print(f"  {imbalance}")
        engine.dispose()


if __name__ == "__main__":
    main()
