"""Burst benchmark (issue 13): every request at once against one `qinqing serve` worker.

    python -m bench.burst [--firms 400] [--covers 50] [--same-key 0] [--workers 1]
                          [--postgres URL] [--wait 120]

Sets up a fresh PostgreSQL schema like `bench.redeem` (a demo registry, a flat 1,000-yuan policy
whose budget covers `--covers` firms), starts `qinqing serve`, then releases `--firms` requests of
distinct active firms at the same instant (or, with `--same-key N`, N requests of one firm with
one idempotency key). Prints the answers by status, the requests not answered within `--wait`
seconds, the slowest answer and what was stored. Extra QINQING_* variables in the environment
reach the server. Run by hand; the tests never time anything.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlmodel import Session

from bench._common import DEFAULT_POSTGRES
from bench.redeem import POLICY, PORT, QINQING, _wait_until_up, setup
from subsidy import db
from subsidy.auth import Role, mint
from subsidy.redemption.models import PolicyBudget, Redemption
from subsidy.settings import Settings

SECRET = "bench-secret-" + "x" * 40


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--firms", type=int, default=400)
    parser.add_argument("--covers", type=int, default=50)
    parser.add_argument("--same-key", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--wait", type=float, default=120)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        # A registry of 1.2x the firms has at least `firms` active ones (about 90% are).
        active = setup(args.postgres, int(args.firms * 1.2) + 10, data_dir, covers=args.covers)
        env = os.environ | {
            "QINQING_DATABASE_URL": args.postgres,
            "QINQING_DATA_DIR": str(data_dir),
            "QINQING_SECRET_KEY": SECRET,
        }
        if args.same_key:  # one firm over and over: the race is the point, not its rate limit
            env.setdefault("QINQING_RATE_LIMIT_REDEEM", "off")
        server = subprocess.Popen(
            [QINQING, "serve", "--port", str(PORT), "--workers", str(args.workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_until_up()
            if args.same_key:
                attempts = [(active[0], "bench-one-key")] * args.same_key
            else:
                attempts = [(uscc, f"bench-{uscc}") for uscc in active[: args.firms]]
            report(burst(attempts, args.wait), args.postgres)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:  # a deadlocked worker does not stop on SIGTERM
                server.kill()
                server.wait(timeout=30)


def burst(attempts: list[tuple[str, str]], wait: float) -> list[tuple[float, str]]:
    """Every attempt posted at the same instant, each on its own connection: (seconds, what came
    back: the status, or "no answer")."""
    settings = Settings(secret_key=SECRET)
    tokens = [mint(settings, Role.ENTERPRISE, subject="bench", uscc=u) for u, _ in attempts]
    start = threading.Barrier(len(attempts))
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    client = httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=wait, limits=limits)

    def one(i: int) -> tuple[float, str]:
        start.wait()
        started = time.perf_counter()
        try:
            response = client.post(
                "/api/v1/redemptions",
                json={"policy_id": POLICY},
                headers={"Authorization": f"Bearer {tokens[i]}", "Idempotency-Key": attempts[i][1]},
            )
            outcome = str(response.status_code)
            if response.status_code >= 500:
                outcome += f" {response.headers.get('retry-after', '-')} {response.text[:80]}"
        except httpx.TimeoutException:
            outcome = "no answer"
        return time.perf_counter() - started, outcome

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool, client:
        return list(pool.map(one, range(len(attempts))))


def report(results: list[tuple[float, str]], postgres: str) -> None:
    outcomes = Counter(outcome for _, outcome in results)
    answered = [seconds for seconds, outcome in results if outcome != "no answer"]
    engine = db.make_engine(postgres)
    with Session(engine) as session:
        stored = session.execute(select(func.count()).select_from(Redemption)).scalar_one()
        budget = session.get(PolicyBudget, POLICY)
    engine.dispose()
    for outcome, count in outcomes.most_common():
        print(f"{count:5,} x {outcome}")
    print(f"slowest answer {max(answered, default=0):.1f} s; stored {stored:,} redemptions")
    if budget is not None:
        print(f"reserved {budget.reserved:,.2f} of {budget.budget:,.2f}")


if __name__ == "__main__":
    main()
