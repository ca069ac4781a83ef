"""A real `qinqing worker` on Redis and PostgreSQL, killed with SIGKILL in the middle of paying
10,000 items; another worker finishes: every redemption is paid exactly once, to the fen."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [QINQING, "worker", "--concurrency", "2"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: SIGKILL reaches the pool too
    )


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

    first = _worker(env, log)
    enqueue = subprocess.run(
        [QINQING, "payouts", "run", "--batch-size", "250", "--wait", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert enqueue.returncode == 0, enqueue.stdout + enqueue.stderr
    total = _count(pg_engine, ItemState.PENDING) + _count(pg_engine, ItemState.SUBMITTED)
    assert total >= 10_000, f"{len(firms)} firms gave only {total} items"
    deadline = time.monotonic() + 240
    while _count(pg_engine, ItemState.PAID) < total // 4:
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.1)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    killed_at = _count(pg_engine, ItemState.PAID)
    assert killed_at < total, "the kill came after the end"

    second = _worker(env, log)
    try:
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
    finally:
        os.killpg(second.pid, signal.SIGKILL)
        second.wait(timeout=30)

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
    assert [i.id for i in paid if simulated.times_paid(i.idempotency_key) != 1] == []
    assert [
        i.id
        for i in settled
        if i.state == ItemState.RETURNED and simulated.times_paid(i.idempotency_key)
    ] == []
    paid_here = sum((i.net for i in paid), Decimal("0.00"))
    assert simulated.paid_total() == paid_here
    assert Decimal(paid_ledger) == paid_here
