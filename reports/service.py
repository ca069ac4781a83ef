"""The disbursement export over HTTP, shared by the API (`reports/endpoints.py`) and the portal.

`export_disbursements` checks the filter, counts the ledger rows in the report's snapshot and
either writes a small report into a temporary file at once or, above `jobs.LARGE` rows, queues a
job for `reports.tasks`. Each HTTP layer then answers in its own way (a file, a 202, a redirect);
what a report is and when it is large is decided here, once. Flush only; the request commits.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from reports import disbursements, jobs, queries, tasks
from reports.errors import JobFileMissing, JobNotReady
from reports.models import JobState, ReportJob
from reports.queries import Period
from subsidy.auth import Role
from subsidy.i18n import DEFAULT, Language
from subsidy.jobs import after_commit, celery_app

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
READERS = (Role.FINANCE, Role.AUDITOR)
"""Who may export reports; the API endpoints and the portal's pages admit exactly these."""


@dataclass(frozen=True)
class Written:
    """A workbook to send as `download_name`: a small report written in the request (delete
    `path` once sent), or a finished job's file."""

    path: Path
    download_name: str


@dataclass(frozen=True)
class Queued:
    """A large report: `job` is queued (flushed, not committed)."""

    job: ReportJob
    run_after_answer: Callable[[], None] | None
    """Without a broker, the task to run in this process once the answer has been sent; None
    when the task goes to a worker once the request commits."""

    @property
    def job_id(self) -> int:
        assert self.job.id is not None  # flushed by jobs.create
        return self.job.id


def export_disbursements(
    session: Session, period: Period, by: str, language: Language = DEFAULT
) -> Written | Queued:
    """The disbursement report of `period` for `by` in `language`, written now or queued as a
    job (which remembers the language).

    Raises `ReportError` (with the field at fault) for a filter that cannot be reported."""
    queries.begin_snapshot(session)  # the count and a small report see the same snapshot
    disbursements.check(session, period)
    rows = queries.count_items(session, period)
    if rows > jobs.LARGE:  # read at call time: tests lower it
        job = jobs.create(session, period, by, rows, language)
        return Queued(job, _enqueue(session, job))
    return Written(_write_aside(session, period, by, language), download_name(period))


def _enqueue(session: Session, job: ReportJob) -> Callable[[], None] | None:
    job_id = job.id
    assert job_id is not None

    def send() -> None:
        tasks.build_disbursements.delay(job_id)

    if celery_app.conf.task_always_eager:
        # No broker: the task would run inside the commit and hold the answer back until the
        # whole workbook is written; the caller runs it once the answer has gone instead.
        return send
    after_commit(session, send)
    return None


def _write_aside(session: Session, period: Period, by: str, language: Language) -> Path:
    handle, name = tempfile.mkstemp(suffix=".xlsx", prefix="qinqing-report-")
    os.close(handle)
    path = Path(name)
    try:
        disbursements.write(session, period, path, by=by, language=language)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def download_name(period: Period) -> str:
    """disbursements[-policy][-from][-to].xlsx"""
    parts = [
        "disbursements",
        period.policy_id,
        str(period.date_from or ""),
        str(period.date_to or ""),
    ]
    return "-".join(p for p in parts if p) + ".xlsx"


def job_file(data_dir: Path, job: ReportJob) -> Written:
    """A finished job's workbook and the name to download it under (it stays in the data
    directory). `JobNotReady` while it is queued or running or when it failed (with its
    error), `JobFileMissing` when it is done but its file has gone."""
    path = jobs.file_of(data_dir, job)
    if path is not None:
        return Written(path, download_name(jobs.period_of(job)))
    if job.state == JobState.DONE:
        raise JobFileMissing(job_id=job.id)
    if job.error:
        raise JobNotReady(code="report.job_failed", job_id=job.id, state=job.state, why=job.error)
    raise JobNotReady(job_id=job.id, state=job.state)
