"""Redemption benchmark (issue 4): a running `qinqing serve` on PostgreSQL, driven over HTTP by
concurrent clients of distinct qualified firms.

    python -m bench.redeem [--firms 5000] [--clients 32] [--workers 2] [--postgres URL]

Sets up a fresh PostgreSQL schema (import a demo registry, publish a flat 1,000-yuan policy in
force today whose budget covers every firm), starts `qinqing serve` in another process, then
each client posts one redemption per firm. Prints redemptions per second, p50 and p99 latency,
and checks that nothing was over-reserved. Run by hand; the tests never time anything.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from importlib import resources
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlmodel import Session

from bench._common import DEFAULT_POSTGRES, fresh_engine, registry_files
from policies import service as policy_service
from policies.document import load_path
from subsidy import db
from subsidy.auth import Role, mint
from subsidy.redemption.models import PolicyBudget, Redemption
from subsidy.registry import service as registry_service
from subsidy.settings import Settings

PORT = 8799
QINQING = str(Path(sys.executable).parent / "qinqing")
POLICY = "bench-flat-1000"


def setup(postgres: str, firms: int, data_dir: Path, covers: int | None = None) -> list[str]:
    """A fresh schema, the registry, the policy (its budget covers `covers` firms, default all);
    the active firms."""
    engine = fresh_engine("postgres", postgres, data_dir)
    enterprises, employees = registry_files(firms)
    example = resources.files("policies") / "examples" / "hz-2020-ui-refund.yaml"
    base = load_path(Path(str(example)))
    tests = [t for t in base.tests if t.expect.eligible]
    tests = [
        t.model_copy(update={"expect": t.expect.model_copy(update={"amount": None})}) for t in tests
    ]
    document = base.model_copy(
        update={
            "id": POLICY,
            "eligibility": "status == 'active'",
            "amount": "1000",
            "mode": "one-click",
            "cap": None,
            "budget": Decimal((firms if covers is None else covers) * 1000),
            "valid_to": dt.date(2099, 12, 31),
            "tests": tests,
        }
    )
    with db.session_scope(engine) as session:
        registry_service.import_registry(session, enterprises, employees, data_dir=data_dir)
        policy_service.publish(session, policy_service.approve(document, POLICY), by="bench")
    with Session(engine) as session:
        frames = registry_service.current_frames(session, data_dir)
    engine.dispose()
    active = frames.enterprises.filter(frames.enterprises["status"] == "active")
    return active["uscc"].to_list()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--firms", type=int, default=5_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        firms = setup(args.postgres, args.firms, data_dir)
        secret = "bench-secret-" + "x" * 40
        env = os.environ | {
            "QINQING_DATABASE_URL": args.postgres,
            "QINQING_DATA_DIR": str(data_dir),
            "QINQING_SECRET_KEY": secret,
        }
        server = subprocess.Popen(
            [QINQING, "serve", "--port", str(PORT), "--workers", str(args.workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_until_up()
            report(run(firms, secret, args.clients), args.postgres, len(firms))
        finally:
            server.terminate()
            server.wait(timeout=30)


def _wait_until_up() -> None:
    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{PORT}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def run(firms: list[str], secret: str, clients: int) -> tuple[float, list[float], list[int]]:
    settings = Settings(secret_key=secret)
    tokens = [mint(settings, Role.ENTERPRISE, subject="bench", uscc=u) for u in firms]
    local = httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=60)

    refusals: Counter[str] = Counter()

    def one(i: int) -> tuple[float, int]:
        started = time.perf_counter()
        response = local.post(
            "/api/v1/redemptions",
            json={"policy_id": POLICY},
            headers={"Authorization": f"Bearer {tokens[i]}", "Idempotency-Key": f"bench-{i:08d}"},
        )
        if response.status_code != 201:
            refusals[f"{response.status_code} {response.text[:300]}"] += 1
        return time.perf_counter() - started, response.status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(one, range(len(firms))))
    elapsed = time.perf_counter() - started
    for refusal, count in refusals.most_common(5):
        print(f"{count:,} x {refusal}")
    return elapsed, [r[0] for r in results], [r[1] for r in results]


def report(result: tuple[float, list[float], list[int]], postgres: str, firms: int) -> None:
    elapsed, latencies, statuses = result
    created = statuses.count(201)
    quantiles = statistics.quantiles(latencies, n=100)
    engine = db.make_engine(postgres)
    with Session(engine) as session:
        count = session.execute(select(func.count()).select_from(Redemption)).scalar_one()
        budget = session.get(PolicyBudget, POLICY)
    print(f"{firms:,} firms, {created:,} created (other statuses: {sorted(set(statuses) - {201})})")
    print(f"{created / elapsed:,.0f} redemptions/s over {elapsed:.1f} s")
    print(f"latency p50 {quantiles[49] * 1000:.0f} ms, p99 {quantiles[98] * 1000:.0f} ms")
    assert budget is not None
    print(
        f"stored {count:,}; reserved {budget.reserved:,.2f} of {budget.budget:,.2f}; "
        f"over-reserved: {budget.reserved > budget.budget or budget.reserved != count * 1000}"
    )


if __name__ == "__main__":
    main()
