"""Real parallel requests against a running `qinqing serve` on PostgreSQL (two worker processes):
a budget for 100 firms and 1,000 qualified firms trying at once; one firm trying 50 times at once
with different keys."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from subsidy.audit import service as audit
from subsidy.auth import Role, mint
from subsidy.settings import Settings
from tests.redemption.helpers import flat, load_registry, publish, redemptions, reserved

SECRET = "http-rush-test-secret-" + "s" * 32
QINQING = str(Path(sys.executable).parent / "qinqing")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(pg_engine: Engine, data_dir: Path) -> Iterator[str]:
    port = _free_port()
    env = os.environ | {
        "QINQING_DATABASE_URL": pg_engine.url.render_as_string(hide_password=False),
        "QINQING_DATA_DIR": str(data_dir),
        "QINQING_SECRET_KEY": SECRET,
    }
    process = subprocess.Popen(
        [QINQING, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            process.terminate()
            pytest.fail(f"qinqing serve did not start: {process.communicate()[1].decode()}")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _post_all(base: str, attempts: list[tuple[str, str, str]]) -> Counter[int]:
    settings = Settings(secret_key=SECRET)
    with httpx.Client(base_url=base, timeout=60) as client:

        def attempt(args: tuple[str, str, str]) -> int:
            uscc, policy_id, key = args
            token = mint(settings, Role.ENTERPRISE, subject="rush", uscc=uscc)
            answer = client.post(
                "/api/v1/redemptions",
                json={"policy_id": policy_id},
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
            )
            return answer.status_code

        with ThreadPoolExecutor(max_workers=32) as pool:
            return Counter(pool.map(attempt, attempts))


@pytest.mark.postgres
def test_a_rush_over_http_never_overspends_nor_redeems_twice(
    pg_engine: Engine, data_dir: Path, tmp_path: Path, server: str
) -> None:
    firms = load_registry(pg_engine, data_dir, tmp_path / "registry", 1_100)[:1_000]
    publish(pg_engine, flat("rush", 1_000, 100_000))
    statuses = _post_all(server, [(u, "rush", f"key-{u}") for u in firms])
    assert statuses == Counter({201: 100, 409: 900})
    assert redemptions(pg_engine) == 100
    assert reserved(pg_engine, "rush") == Decimal("100000.00")

    publish(pg_engine, flat("once", 10, 1_000_000))
    statuses = _post_all(server, [(firms[0], "once", f"key-{i:04d}-once") for i in range(50)])
    assert statuses == Counter({201: 1, 409: 49})
    assert redemptions(pg_engine) == 101
    assert reserved(pg_engine, "once") == Decimal("10.00")
    with Session(pg_engine) as session:
        assert audit.verify(session).reason is None
