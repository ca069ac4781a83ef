"""HTTP: the disbursement report as a workbook, at once or, when large, through a job.

`GET /api/v1/reports/disbursements.xlsx` writes a small report in the request and sends it; above
`jobs.LARGE` ledger rows it answers 202 with a job, which a Celery task writes into the data
directory: poll `GET /api/v1/reports/jobs/{id}`, then fetch `.../file`. With a broker the task
is sent once the request has committed; without one (the embedded default) it runs in this
process once the answer has been sent. Finance and auditors only.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.background import BackgroundTask

from reports import disbursements, jobs, queries, tasks
from reports.errors import ReportError
from reports.models import JobState, ReportJob
from reports.queries import Period
from reports.schemas import JobOut
from subsidy.api.problems import NotFound, ProblemError
from subsidy.api.security import DbSession, allow
from subsidy.auth import Principal, Role
from subsidy.jobs import after_commit, celery_app
from subsidy.settings import get_settings

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
READERS = (Role.FINANCE, Role.AUDITOR)
Reader = Annotated[Principal, Depends(allow(*READERS))]


class _InvalidFilter(ProblemError):
    status, slug, title = 422, "invalid-request", "The request is not valid"

    def __init__(self, exc: ReportError) -> None:
        field = f"query.{exc.field}" if exc.field else "query"
        super().__init__("see errors", errors=[{"field": field, "message": str(exc)}])


class _NotReady(ProblemError):
    status, slug, title = 409, "report-not-ready", "The report is not ready"


def _by(me: Principal) -> str:
    return f"{me.role}:{me.subject}"


@router.get(
    "/disbursements.xlsx",
    response_class=Response,
    responses={
        200: {"content": {XLSX: {}}, "description": "The workbook."},
        202: {"model": JobOut, "description": "Large: a job writes it; poll its Location."},
    },
)
def disbursements_xlsx(
    session: DbSession,
    me: Reader,
    date_from: Annotated[dt.date | None, Query(alias="from")] = None,
    date_to: Annotated[dt.date | None, Query(alias="to")] = None,
    policy: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> Response:
    """The disbursement report of payouts dated from..to (both included), of one policy or all."""
    period = Period(date_from, date_to, policy)
    queries.begin_snapshot(session)
    try:
        disbursements.check(session, period)
    except ReportError as exc:
        raise _InvalidFilter(exc) from exc
    rows = queries.count_items(session, period)
    if rows > jobs.LARGE:
        job = jobs.create(session, period, _by(me), rows)
        job_id = job.id
        assert job_id is not None

        def send() -> None:
            tasks.build_disbursements.delay(job_id)

        background = None
        if celery_app.conf.task_always_eager:
            # No broker: the task runs in this process. Run it after the answer has gone (the
            # request has committed by then), not inside the commit, which would hold the
            # answer back until the whole workbook is written.
            background = BackgroundTask(send)
        else:
            after_commit(session, send)
        return JSONResponse(
            _job_out(job).model_dump(mode="json"),
            status_code=202,
            headers={"Location": f"{router.prefix}/jobs/{job_id}"},
            background=background,
        )
    handle, name = tempfile.mkstemp(suffix=".xlsx", prefix="qinqing-report-")
    os.close(handle)
    path = Path(name)
    try:
        disbursements.write(session, period, path, by=_by(me))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path,
        media_type=XLSX,
        filename=_download_name(period),
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


def _download_name(period: Period) -> str:
    parts = [
        "disbursements",
        period.policy_id,
        str(period.date_from or ""),
        str(period.date_to or ""),
    ]
    return "-".join(p for p in parts if p) + ".xlsx"


@router.get("/jobs/{job_id}", response_model=JobOut)
def job_state(job_id: int, session: DbSession, me: Reader) -> JobOut:
    """A report job: its state, stage and progress; `file` once it is done."""
    return _job_out(_job(session, job_id))


@router.get(
    "/jobs/{job_id}/file", response_class=Response, responses={200: {"content": {XLSX: {}}}}
)
def job_file(job_id: int, session: DbSession, me: Reader) -> Response:
    """The finished workbook of a job (409 while it runs or when it failed)."""
    job = _job(session, job_id)
    path = jobs.file_of(get_settings().data_dir, job)
    if path is None:
        if job.state == JobState.DONE:
            raise NotFound(f"report job {job_id}'s file is no longer in the data directory")
        why = f": {job.error}" if job.error else ""
        raise _NotReady(f"report job {job_id} is {job.state}{why}", state=str(job.state))
    parameters = jobs.period_of(job)
    return FileResponse(path, media_type=XLSX, filename=_download_name(parameters))


def _job(session: DbSession, job_id: int) -> ReportJob:
    job = session.get(ReportJob, job_id)
    if job is None:
        raise NotFound(f"no report job {job_id}")
    return job


def _job_out(job: ReportJob) -> JobOut:
    assert job.id is not None
    done = job.state == JobState.DONE
    progress = 1.0 if done else (job.rows_done / job.rows_total if job.rows_total else 0.0)
    return JobOut(
        id=job.id,
        kind=job.kind,
        state=str(job.state),
        stage=job.stage,
        parameters=json.loads(job.parameters),
        rows_total=job.rows_total,
        rows_done=job.rows_done,
        progress=round(min(progress, 1.0), 4),
        requested_by=job.requested_by,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        error=job.error,
        file=f"{router.prefix}/jobs/{job.id}/file" if done else None,
    )
