"""The workers' side of the assembly: which task modules a Celery worker imports and what the
beat sends, gathered here as `subsidy/app.py` gathers the routers, so that the core
(`subsidy/jobs.py`) names no domain.

Every entry point assembles before it enqueues: the `qinqing` commands (worker and beat
included) in their root callback, the web app's factory when nothing has yet (each uvicorn
worker process imports it anew). Tests configure the app in-process themselves first.
"""

from __future__ import annotations

from celery import Celery

from payouts import tasks as payout_tasks
from subsidy import jobs
from subsidy.settings import settings_or_exit

TASK_MODULES = ("payouts.tasks", "reports.tasks")
"""Every module that registers tasks: a worker imports them all when it starts."""

DEFAULT_SWEEP_SECONDS = 60.0
"""The beat's period when the broker is given explicitly (tests), not read from the settings
(QINQING_PAYOUT_SWEEP_SECONDS)."""


def assemble(broker_url: str | None = None) -> Celery:
    """The app on the broker of the settings (or `broker_url`; empty: tasks in-process), with
    every domain's task modules and beat entries. Settings that cannot be used end the process
    in one line."""
    settings = settings_or_exit() if broker_url is None else None
    url = settings.broker_url if settings else broker_url
    sweep = settings.payout_sweep_seconds if settings else DEFAULT_SWEEP_SECONDS
    return jobs.configure(
        url, include=TASK_MODULES, beat_schedule=payout_tasks.beat_schedule(sweep)
    )


def assembled() -> Celery:
    """The app, assembled from the settings unless an entry point (or a test) has already."""
    if jobs.configured():
        return jobs.celery_app
    return assemble()
