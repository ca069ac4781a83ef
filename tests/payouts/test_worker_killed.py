"""A real `qinqing worker` on Redis and PostgreSQL, killed with SIGKILL in the middle of paying
10,000 items; another worker finishes: every redemption is paid exactly once, to the fen."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from matching import service as matching_service
from payouts.gateways import Faults, SimulatedBank
from payouts.models import ItemState, PayoutItem
from subsidy import db
from subsidy.audit import service as audit
from subsidy.ledger.models import Account, LedgerEntry
from subsidy.redemption import automatic
from tests.redemption.helpers import TODAY, flat, load_registry, publish

QINQING = str(Path(sys.executable).parent / "qinqing")


def _environment(engine: Engine, redis_url: str, data_dir: Path, bank: Path) -> dict[str, str]:
    return os.environ | {
        "QINQING_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "QINQING_BROKER_URL": redis_url,
        "QINQING_DATA_DIR": str(data_dir),
        "QINQING_BANK_URL": f"simulated://{bank}?seed=11&returned=0&latency_ms=5-20",
        "QINQING_PAYOUT_BACKOFF_SECONDS": "0.2",
    }


@contextmanager
def _worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A `qinqing worker` in its own process group, killed (SIGKILL) when the block ends,
    however it ends: a worker left behind would take the next test's tasks."""
    process = subprocess.Popen(
        [QINQING, "worker", "--concurrency", "2"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: SIGKILL reaches the pool too
    )
    try:
        yield process
    finally:
        _kill(process)


def _kill(process: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def _count(engine: Engine, state: ItemState) -> int:
    with Session(engine) as session:
        query = select(func.count()).where(col(PayoutItem.state) == state)
        return int(session.execute(query).scalar_one())


@pytest.mark.postgres
@pytest.mark.redis
def test_a_worker_killed_mid_batch_pays_nothing_twice(
    pg_engine: Engine, redis_url: str, data_dir: Path, tmp_path: Path
) -> None:
    firms = load_registry(pg_engine, data_dir, tmp_path / "registry", 11_300)
    publish(pg_engine, flat("auto-pay", 300, 100_000_000).model_copy(update={"mode": "automatic"}))
    with db.session_scope(pg_engine) as session:
        runs = matching_service.run_match(session, data_dir, as_of=TODAY)
        automatic.grant_after_match(session, runs, as_of=TODAY)
    bank = tmp_path / "bank.db"
    env = _environment(pg_engine, redis_url, data_dir, bank)
    log = tmp_path / "worker.log"

    with _worker(env, log) as first:
        enqueue = subprocess.run(
            [QINQING, "payouts", "run", "--batch-size", "250", "--wait", "0"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert enqueue.returncode == 0, enqueue.stdout + enqueue.stderr
        with Session(pg_engine) as session:  # one count: the worker is already moving items on
            total = int(session.execute(select(func.count()).select_from(PayoutItem)).scalar_one())
        assert total >= 10_000, f"{len(firms)} firms gave only {total} items"
        deadline = time.monotonic() + 240
        while _count(pg_engine, ItemState.PAID) < total // 4:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        _kill(first)
    killed_at = _count(pg_engine, ItemState.PAID)
    assert killed_at < total, "the kill came after the end"

    with _worker(env, log):
        finish = subprocess.run(
            [QINQING, "payouts", "run", "--wait", "300"],
            env=env,
            capture_output=True,
            text=True,
            timeout=400,
            check=False,
        )
        assert finish.returncode == 0, finish.stdout + finish.stderr
        assert "every batch settled" in finish.stdout, finish.stdout + log.read_text()[-3000:]

    with Session(pg_engine) as session:
        settled = list(session.execute(select(PayoutItem)).scalars())
        paid_ledger = session.execute(
            select(func.sum(LedgerEntry.amount)).where(col(LedgerEntry.target) == Account.PAID)
        ).scalar_one()
        assert audit.verify(session).reason is None
    assert len(settled) == total
    assert {i.state for i in settled} == {ItemState.PAID, ItemState.RETURNED}
    simulated = SimulatedBank(bank, Faults.none())
    paid = [i for i in settled if i.state == ItemState.PAID]
    payments = simulated.payments_by_key()
    assert [i.id for i in paid if payments.get(i.idempotency_key) != 1] == []
    # No payment comes back in this run (returned=0): a returned item is one the bank refused.
    refused = [i for i in settled if i.state == ItemState.RETURNED]
    assert [i.id for i in refused if payments.get(i.idempotency_key, 0) != 0] == []
    paid_here = sum((i.net for i in paid), Decimal("0.00"))
    assert simulated.paid_total() == paid_here
    assert Decimal(paid_ledger) == paid_here
