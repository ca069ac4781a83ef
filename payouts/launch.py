"""Starting a payout run from a request (the portal or the API), as `qinqing payouts run` does.

The request creates the run (flush only) and the task is enqueued once the request commits
(`jobs.after_commit`); without a broker the task would run inside the commit and hold the answer
back until every batch is paid, so the caller runs it once the answer has gone instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

from payouts import runs, tasks
from payouts.models import PayoutRun
from subsidy.jobs import after_commit, celery_app
from subsidy.settings import get_settings


@dataclass(frozen=True)
class Started:
    run: PayoutRun
    run_after_answer: Callable[[], None] | None
    """Without a broker, the task to run in this process once the answer has been sent."""

    @property
    def run_id(self) -> int:
        assert self.run.id is not None  # flushed by runs.create
        return self.run.id


def start(session: Session, *, by: str, batch_size: int | None = None) -> Started:
    """Queue a payout run for `by` (`RunInProgress` while another is gathering), in batches of
    `batch_size` items (QINQING_PAYOUT_BATCH_SIZE)."""
    size = batch_size or get_settings().payout_batch_size
    run = runs.create(session, by=by, batch_size=size)
    run_id = run.id
    assert run_id is not None

    def send() -> None:
        tasks.run_recorded.delay(run_id)

    if celery_app.conf.task_always_eager:
        return Started(run, send)
    after_commit(session, send)
    return Started(run, None)
