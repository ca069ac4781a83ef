"""The Celery application every domain's `tasks.py` registers with.

The core names no domain: which task modules a worker imports and what the beat sends are
gathered by the assembly (`subsidy/workers.py`), as the routers are by `subsidy/app.py`, and
handed to `configure`. Until an entry point configures it the app runs tasks in-process and
reads no settings (importing a module never ends a process).

With a broker (`QINQING_BROKER_URL`, Redis in production) tasks go to `qinqing worker`
processes. Without one (the embedded default) they run in-process, eagerly, so `qinqing demo`
and the tests need nothing else. Either way a task is enqueued only after the transaction that
made its work visible has committed (`after_commit`), takes ids rather than objects, and is
idempotent: `acks_late` with `task_reject_on_worker_lost` means a worker killed mid-task leaves
the message to be delivered again, and the task re-checks the state it finds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from celery import Celery
from sqlalchemy import event
from sqlmodel import Session

celery_app = Celery("qinqing")

_configured = False


def configure(
    broker_url: str | None,
    *,
    include: Iterable[str] = (),
    beat_schedule: Mapping[str, Mapping[str, Any]] | None = None,
) -> Celery:
    """Point the app at `broker_url` (none or empty: run tasks in-process, eagerly), with the
    task modules a worker imports (`include`) and the beat's entries."""
    global _configured
    _apply(broker_url, include, beat_schedule)
    _configured = True
    return celery_app


def _apply(
    broker_url: str | None,
    include: Iterable[str] = (),
    beat_schedule: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    celery_app.conf.update(
        broker_url=broker_url or "memory://",
        result_backend=None,
        task_always_eager=not broker_url,
        task_eager_propagates=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        include=list(include),
        beat_schedule={name: dict(entry) for name, entry in (beat_schedule or {}).items()},
    )


def configured() -> bool:
    """Whether an entry point (or a test) has configured the app yet."""
    return _configured


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


_apply(None)  # in-process until an entry point configures the app
