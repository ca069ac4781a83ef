"""Celery tasks: a large report written in the background, its progress committed as it goes.

The task is the one place that commits: the job's start, each progress step and its end are
short transactions of their own, while the report reads in one long read-only snapshot. The
workbook is written aside and renamed into place, so a file that exists is complete. A task
delivered again (a worker lost mid-way) finds its job running and writes it again from the start;
one found done or failed does nothing.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from sqlalchemy import Engine

from reports import disbursements, jobs
from subsidy import db
from subsidy.jobs import celery_app
from subsidy.settings import get_settings

log = logging.getLogger(__name__)

PROGRESS_SECONDS = 1.0
"""At most one progress commit a second (and one per stage)."""


class JobProgress:
    """A `subsidy.progress.Progress` that records the job's stage and ledger rows written."""

    def __init__(self, job_id: int, engine: Engine | None = None) -> None:
        self.job_id = job_id
        self.engine = engine
        self.stage_name = "starting"
        self.rows = 0
        self._saved_at = 0.0

    def stage(self, name: str, total: int | None = None) -> None:
        self.stage_name = name
        self._save()

    def advance(self, units: int) -> None:
        self.rows += units
        if time.monotonic() - self._saved_at >= PROGRESS_SECONDS:
            self._save()

    def _save(self) -> None:
        with db.session_scope(self.engine) as session:
            jobs.advance(session, self.job_id, self.stage_name, self.rows)
        self._saved_at = time.monotonic()


@celery_app.task(name="reports.disbursements")
def build_disbursements(job_id: int) -> None:
    run(job_id)


def run(job_id: int, engine: Engine | None = None, data_dir: Path | None = None) -> None:
    """Write job `job_id`'s workbook into the data directory and record how it went."""
    data_dir = data_dir or get_settings().data_dir
    with db.session_scope(engine) as session:
        job = jobs.start(session, job_id)
        if job is None:
            return
        period, by, name = jobs.period_of(job), job.requested_by, jobs.file_name(job)
        language = jobs.language_of(job)
    target = jobs.folder(data_dir) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f".{name}.part")
    try:
        with db.session_scope(engine) as session:
            written = disbursements.write(
                session,
                period,
                part,
                by=by,
                language=language,
                progress=JobProgress(job_id, engine),
            )
        part.replace(target)
    except Exception as exc:
        log.exception("report job %s failed", job_id)
        part.unlink(missing_ok=True)
        with db.session_scope(engine) as session:
            jobs.fail(session, job_id, f"{type(exc).__name__}: {exc}")
        return
    with db.session_scope(engine) as session:
        jobs.finish(session, job_id, name, written.ledger_rows)
