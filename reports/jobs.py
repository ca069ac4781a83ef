"""Report jobs: queue one, move it along, find its file. Flush only; the caller commits.

A job runs in several short transactions of the task (start, progress, finish), so that whoever
polls it sees how far it got; `reports.tasks` is where they are committed.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session, col

from reports.models import JobState, ReportJob
from reports.queries import Period
from subsidy import i18n
from subsidy.db import utcnow
from subsidy.i18n import Language

DISBURSEMENTS = "disbursements"
LARGE = 100_000
"""Ledger rows above which an HTTP export runs as a job instead of in the request."""


def parameters(period: Period, language: Language = i18n.DEFAULT) -> str:
    return json.dumps(
        {
            "from": period.date_from.isoformat() if period.date_from else None,
            "to": period.date_to.isoformat() if period.date_to else None,
            "policy": period.policy_id,
            "lang": language,
        },
        sort_keys=True,
    )


def language_of(job: ReportJob) -> Language:
    """The workbook's language (a job queued before languages were recorded: the default)."""
    return i18n.language_of(json.loads(job.parameters).get("lang"))


def period_of(job: ReportJob) -> Period:
    found = json.loads(job.parameters)
    return Period(
        dt.date.fromisoformat(found["from"]) if found["from"] else None,
        dt.date.fromisoformat(found["to"]) if found["to"] else None,
        found["policy"],
    )


def create(
    session: Session, period: Period, by: str, rows: int, language: Language = i18n.DEFAULT
) -> ReportJob:
    job = ReportJob(
        kind=DISBURSEMENTS,
        parameters=parameters(period, language),
        state=JobState.QUEUED,
        rows_total=rows,
        requested_by=by,
    )
    session.add(job)
    session.flush()
    return job


def recent(session: Session, limit: int, offset: int = 0) -> list[ReportJob]:
    """The newest `limit` jobs (after the newest `offset`), newest first."""
    stmt = select(ReportJob).order_by(col(ReportJob.id).desc()).offset(offset).limit(limit)
    return list(session.execute(stmt).scalars().all())


def count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(ReportJob)).scalar_one())


def progress(job: ReportJob) -> float:
    """How far a job got, 0..1 (1 once done)."""
    if job.state == JobState.DONE:
        return 1.0
    done = job.rows_done / job.rows_total if job.rows_total else 0.0
    return round(min(done, 1.0), 4)


def start(session: Session, job_id: int) -> ReportJob | None:
    """The job to run, marked running; None when there is nothing to do (unknown, or already
    done or failed: a message delivered twice does the work once)."""
    job = session.get(ReportJob, job_id, with_for_update=True)
    if job is None or job.state in (JobState.DONE, JobState.FAILED):
        return None
    job.state, job.stage, job.rows_done = JobState.RUNNING, "starting", 0
    job.started_at = utcnow()
    session.flush()
    return job


def advance(session: Session, job_id: int, stage: str, rows_done: int) -> None:
    job = session.get(ReportJob, job_id)
    if job is not None and job.state == JobState.RUNNING:
        job.stage, job.rows_done = stage[:64], rows_done
        session.flush()


def finish(session: Session, job_id: int, file_name: str, rows: int) -> None:
    job = _get(session, job_id)
    job.state, job.stage, job.file_name = JobState.DONE, "done", file_name
    job.rows_total = job.rows_done = rows
    job.finished_at = utcnow()
    session.flush()


def fail(session: Session, job_id: int, error: str) -> None:
    job = _get(session, job_id)
    job.state, job.stage, job.error = JobState.FAILED, "failed", error[:2000]
    job.finished_at = utcnow()
    session.flush()


def _get(session: Session, job_id: int) -> ReportJob:
    job = session.get(ReportJob, job_id)
    if job is None:
        raise LookupError(f"no report job {job_id}")
    return job


def folder(data_dir: Path) -> Path:
    return data_dir / "reports"


def file_name(job: ReportJob) -> str:
    return f"{job.kind}-{job.id:08d}.xlsx"


def file_of(data_dir: Path, job: ReportJob) -> Path | None:
    """The finished workbook, or None while there is none."""
    if job.state != JobState.DONE or job.file_name is None:
        return None
    path = folder(data_dir) / job.file_name
    return path if path.is_file() else None
