"""Commands that wait on Celery workers say so, and what to start; when they give up they say why
and the way out, instead of waiting in silence. `qinqing beat` runs on its own.

Real Redis (this run's own database, `redis_url`), no worker: the commands must answer within
their short --wait."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from payouts import repository
from subsidy import jobs
from subsidy.settings import get_settings
from tests.commands import qinqing
from tests.commands import wide_terminal as wide_terminal
from tests.portal.world import make_world

QINQING = str(Path(sys.executable).parent / "qinqing")


def _environment(engine: Engine, redis_url: str, data_dir: Path) -> dict[str, str]:
    return os.environ | {
        "QINQING_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "QINQING_BROKER_URL": redis_url,
        "QINQING_DATA_DIR": str(data_dir),
        "COLUMNS": "200",
    }


@pytest.mark.redis
def test_payouts_run_without_a_worker_says_what_to_start_and_gives_up_with_the_way_out(
    engine: Engine, redis_url: str, data_dir: Path, tmp_path: Path
) -> None:
    make_world(engine, data_dir, tmp_path / "registry")  # approved automatic grants to pay
    done = subprocess.run(
        [QINQING, "payouts", "run", "--wait", "2"],
        env=_environment(engine, redis_url, data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    said = " ".join(done.stdout.split())
    assert "no Celery worker answers on redis://" in said
    assert "settled by `qinqing worker`; start it" in said
    assert "Waiting up to 2 s (--wait)" in said
    refused = " ".join(done.stderr.split())
    assert "gave up waiting after 2 s:" in refused
    assert "no Celery worker answers" in refused
    assert "start `qinqing worker`" in refused
    assert "payments came back" not in said  # it stopped there, with status 1
    with Session(engine) as session:
        left = repository.open_batches(session)
    assert left, "the batches stay queued for a worker"
    assert f"{len(left):,} batches are still open" in refused


@pytest.mark.redis
def test_wait_0_hands_the_batches_to_the_workers_and_returns(
    engine: Engine, redis_url: str, data_dir: Path, tmp_path: Path
) -> None:
    make_world(engine, data_dir, tmp_path / "registry")
    done = subprocess.run(
        [QINQING, "payouts", "run", "--wait", "0"],
        env=_environment(engine, redis_url, data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    said = " ".join(done.stdout.split())
    assert "none answering: start `qinqing worker`); not waiting (--wait 0)" in said


@pytest.mark.redis
def test_the_demo_on_a_broker_says_up_front_that_a_worker_pays(
    app_env: Engine, redis_url: str, tmp_path: Path
) -> None:
    jobs.configure(broker_url=redis_url)  # the autouse fixture puts it back in-process
    code, output = qinqing(
        "demo", "--firms", 60, "--data", tmp_path / "demo", "--no-serve", "--wait", 1
    )
    said = " ".join(output.split())
    assert code == 1, output
    hint = said.index("no Celery worker answers")
    assert hint < said.index("generated 60 firms")  # before any work
    assert "Start it in another terminal" in said
    assert "unset QINQING_BROKER_URL" in said
    assert "gave up waiting after 1 s" in said
    assert "demo ready" not in said


def test_beat_and_worker_need_a_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QINQING_BROKER_URL", "")
    get_settings.cache_clear()  # the audit_checkpoints fixture clears it again afterwards
    for command in ("beat", "worker"):
        code, output = qinqing(command)
        assert code == 2
        assert "set QINQING_BROKER_URL" in output


@pytest.mark.redis
def test_beat_runs_as_its_own_process_and_sends_the_payout_sweep(
    redis_url: str, data_dir: Path
) -> None:
    import redis

    env = os.environ | {
        "QINQING_BROKER_URL": redis_url,
        "QINQING_DATA_DIR": str(data_dir),
        "QINQING_PAYOUT_SWEEP_SECONDS": "1",
    }
    beat = subprocess.Popen(
        [QINQING, "beat"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    client = redis.Redis.from_url(redis_url)
    sent: set[str] = set()
    try:
        for _ in range(300):  # a minute at most; the first sweep is due after a second
            for message in client.lrange("celery", 0, -1):
                sent.add(json.loads(message)["headers"]["task"])
            if {"payouts.run", "payouts.poll"} <= sent or beat.poll() is not None:
                break
            time.sleep(0.2)
    finally:
        beat.terminate()
        _, errors = beat.communicate(timeout=30)
        client.close()
    assert {"payouts.run", "payouts.poll"} <= sent, errors.decode()
    assert (data_dir / "celerybeat-schedule").exists() or any(data_dir.glob("celerybeat-schedule*"))
