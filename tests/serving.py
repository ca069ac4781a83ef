"""A real `qinqing serve` for the tests that need parallel HTTP requests, and the firms' posts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from subsidy.auth import Role, mint
from subsidy.settings import Settings

SECRET = "http-rush-test-secret-" + "s" * 32
QINQING = str(Path(sys.executable).parent / "qinqing")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(engine: Engine, data_dir: Path, *, workers: int, **settings: str) -> Iterator[str]:
    """`qinqing serve` on `engine`'s database until the block ends; its base URL. `settings`
    are QINQING_* variables by their lower-case name (`rate_limit_redeem="off"`)."""
    port = _free_port()
    env = os.environ | {
        "QINQING_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "QINQING_DATA_DIR": str(data_dir),
        "QINQING_SECRET_KEY": SECRET,
    }
    env |= {f"QINQING_{name.upper()}": value for name, value in settings.items()}
    process = subprocess.Popen(
        [QINQING, "serve", "--port", str(port), "--workers", str(workers)],
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
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, object]
    retry_after: str | None
    seconds: float


def post_redemptions(
    base: str, attempts: list[tuple[str, str, str]], *, at_once: bool = False, wait: float = 60
) -> list[Answer]:
    """Each (firm, policy, idempotency key) posted as a redemption; with `at_once` all released
    at the same instant, each on its own connection, else 32 at a time."""
    settings = Settings(secret_key=SECRET)
    tokens = [mint(settings, Role.ENTERPRISE, subject="rush", uscc=u) for u, _, _ in attempts]
    clients = len(attempts) if at_once else 32
    start = threading.Barrier(clients) if at_once else None
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    with httpx.Client(base_url=base, timeout=wait, limits=limits) as client:

        def attempt(i: int) -> Answer:
            _, policy_id, key = attempts[i]
            if start is not None:
                start.wait()
            started = time.perf_counter()
            answer = client.post(
                "/api/v1/redemptions",
                json={"policy_id": policy_id},
                headers={"Authorization": f"Bearer {tokens[i]}", "Idempotency-Key": key},
            )
            body = answer.json() if answer.headers.get("content-type", "").endswith("json") else {}
            seconds = time.perf_counter() - started
            return Answer(answer.status_code, body, answer.headers.get("retry-after"), seconds)

        with ThreadPoolExecutor(max_workers=clients) as pool:
            return list(pool.map(attempt, range(len(attempts))))
