"""Workers assembled like routes (issue 17, point 6): the core's Celery app names no domain; the
assembly gives it every task module and the beat's entries, and importing it reads no settings."""

from __future__ import annotations

import sys
from pathlib import Path

from subsidy import jobs, workers
from tests.security.test_config_errors import PRODUCTION, run
from tests.subsidy.test_error_codes import _import_every_module


def test_the_core_names_no_domain() -> None:
    source = Path(jobs.__file__).read_text(encoding="utf-8")
    for domain in ("payouts", "reports", "matching", "policies", "notifications"):
        assert f'"{domain}.' not in source


def test_the_assembly_gives_every_task_module_and_the_beat() -> None:
    app = workers.assemble(broker_url="redis://127.0.0.1:1/0")
    try:
        assert app.conf.include == list(workers.TASK_MODULES)
        assert app.conf.task_always_eager is False
        beat = app.conf.beat_schedule
        assert {entry["task"] for entry in beat.values()} == {"payouts.run", "payouts.poll"}
        assert {entry["schedule"] for entry in beat.values()} == {workers.DEFAULT_SWEEP_SECONDS}
    finally:
        workers.assemble(broker_url="")
    assert jobs.celery_app.conf.task_always_eager is True


def test_every_module_that_registers_tasks_is_in_the_assembly() -> None:
    """A task whose module a worker does not import is never run by a worker."""
    _import_every_module()
    ours = {
        task.__module__
        for name, task in jobs.celery_app.tasks.items()
        if not name.startswith("celery.")
    }
    assert ours == set(workers.TASK_MODULES)


def test_importing_the_app_reads_no_settings(tmp_path: Path) -> None:
    """Settings that cannot be used end an entry point in one line, never an import."""
    bad = PRODUCTION | {"QINQING_SECRET_KEY": "short"}
    done = run([sys.executable, "-c", "import subsidy.jobs, payouts.tasks"], bad, tmp_path)
    assert done.returncode == 0, done.stderr
    refused = run(
        [sys.executable, "-c", "import subsidy.workers as w; w.assemble()"], bad, tmp_path
    )
    assert refused.returncode == 2
    assert "QINQING_SECRET_KEY is shorter than 32 bytes" in refused.stderr
