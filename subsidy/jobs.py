"""The Celery application every domain's `tasks.py` registers with.

With a broker (`QINQING_BROKER_URL`, Redis in production) tasks go to `qinqing worker`
processes. Without one (the embedded default) they run in-process, eagerly, so `qinqing demo`
and the tests need nothing else. Either way a task is enqueued only after the transaction that
made its work visible has committed (`after_commit`), takes ids rather than objects, and is
idempotent: `acks_late` with `task_reject_on_worker_lost` means a worker killed mid-task leaves
the message to be delivered again, and the task re-checks the state it finds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from celery import Celery
from sqlalchemy import event
from sqlmodel import Session

from subsidy.settings import settings_or_exit

celery_app = Celery("qinqing", include=["payouts.tasks", "reports.tasks"])

DEFAULT_SWEEP_SECONDS = 60.0
"""The beat's period when the app is configured with an explicit broker (tests), not from the
settings (QINQING_PAYOUT_SWEEP_SECONDS)."""


def configure(broker_url: str | None = None) -> Celery:
    """Point the app at the broker of the settings (or `broker_url`); none: run in-process.
    Called on import, by every entry point: settings that cannot be used end it in one line."""
    settings = settings_or_exit() if broker_url is None else None
    url = settings.broker_url if settings else broker_url
    sweep = settings.payout_sweep_seconds if settings else DEFAULT_SWEEP_SECONDS
    celery_app.conf.update(
        broker_url=url or "memory://",
        result_backend=None,
        task_always_eager=not url,
        task_eager_propagates=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        beat_schedule={
            "payouts-run": {"task": "payouts.run", "schedule": sweep},
            "payouts-poll": {"task": "payouts.poll", "schedule": sweep},
        },
    )
    return celery_app


def shown_broker() -> str:
    """The configured broker as a message may show it: its password hidden."""
    url = str(celery_app.conf.broker_url or "")
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def workers_answering(timeout: float = 1.0) -> int:
    """How many `qinqing worker` processes answer a ping on the broker within `timeout`
    (0 also when the broker cannot be reached: nobody can settle anything then)."""
    if celery_app.conf.task_always_eager:
        return 0
    try:
        # A connection of its own, closed here: the ping's reply consumer must not stay in the
        # app's pool, where a process forked later (a prefork pool, a test) would inherit it
        # mid-read and hang closing it.
        with celery_app.connection_for_write() as connection:
            return len(celery_app.control.ping(timeout=timeout, connection=connection))
    except Exception:  # the broker is down: "no worker", and the message names the broker
        return 0


def after_commit(session: Session, send: Callable[[], Any]) -> None:
    """Call `send` (e.g. `task.delay(id)`) once `session` commits; never if it rolls back."""

    def sent(_: Session) -> None:
        send()

    event.listen(session, "after_commit", sent, once=True)


configure()
