"""HTTP: the disbursement report as a workbook, at once or, when large, through a job.

`GET /api/v1/reports/disbursements.xlsx` writes a small report in the request and sends it; above
`jobs.LARGE` ledger rows it answers 202 with a job, which a Celery task writes into the data
directory: poll `GET /api/v1/reports/jobs/{id}`, then fetch `.../file`. With a broker the task
is sent once the request has committed; without one (the embedded default) it runs in this
process once the answer has been sent. Finance and auditors only. What is checked, counted and
written or queued is `reports.service`'s, which the portal's report pages share.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.background import BackgroundTask

from reports import jobs, service
from reports.errors import ReportError
from reports.models import JobState, ReportJob
from reports.queries import Period
from reports.schemas import JobOut
from subsidy.api.openapi import answers
from subsidy.api.params import RowId
from subsidy.api.problems import NotFound, ProblemError
from subsidy.api.ratelimit import rate_limited
from subsidy.api.security import DbSession, allow
from subsidy.auth import Principal
from subsidy.i18n import DEFAULT, Language
from subsidy.settings import get_settings

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

XLSX = service.XLSX
READERS = service.READERS
Reader = Annotated[Principal, Depends(allow(*READERS))]


class _InvalidFilter(ProblemError):
    status, slug, title = 422, "invalid-request", "The request is not valid"

    def __init__(self, exc: ReportError) -> None:
        field = f"query.{exc.field}" if exc.field else "query"
        super().__init__("see errors", cause=exc, errors=[{"field": field, "message": str(exc)}])


def _by(me: Principal) -> str:
    return f"{me.role}:{me.subject}"


@router.get(
    "/disbursements.xlsx",
    response_class=Response,
    dependencies=[Depends(rate_limited("report"))],
    responses={
        **answers(429),
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
    lang: Annotated[Language, Query(description="The workbook's language.")] = DEFAULT,
) -> Response:
    """The disbursement report of payouts dated from..to (both included), of one policy or all,
    in Chinese (the default) or English."""
    period = Period(date_from, date_to, policy)
    try:
        done = service.export_disbursements(session, period, _by(me), lang)
    except ReportError as exc:
        raise _InvalidFilter(exc) from exc
    if isinstance(done, service.Queued):
        run = done.run_after_answer
        return JSONResponse(
            _job_out(done.job).model_dump(mode="json"),
            status_code=202,
            headers={"Location": f"{router.prefix}/jobs/{done.job_id}"},
            background=BackgroundTask(run) if run else None,
        )
    return FileResponse(
        done.path,
        media_type=XLSX,
        filename=done.download_name,
        background=BackgroundTask(done.path.unlink, missing_ok=True),
    )


@router.get("/jobs/{job_id}", response_model=JobOut)
def job_state(job_id: RowId, session: DbSession, me: Reader) -> JobOut:
    """A report job: its state, stage and progress; `file` once it is done."""
    return _job_out(_job(session, job_id))


@router.get(
    "/jobs/{job_id}/file",
    response_class=Response,
    responses={**answers(409), 200: {"content": {XLSX: {}}}},
)
def job_file(job_id: RowId, session: DbSession, me: Reader) -> Response:
    """The finished workbook of a job (409 while it runs or when it failed)."""
    job = _job(session, job_id)
    found = service.job_file(get_settings().data_dir, job)
    return FileResponse(found.path, media_type=XLSX, filename=found.download_name)


def _job(session: DbSession, job_id: int) -> ReportJob:
    job = session.get(ReportJob, job_id)
    if job is None:
        raise NotFound(code="api.not_found.report_job", fields={"job_id": job_id})
    return job


def _job_out(job: ReportJob) -> JobOut:
    assert job.id is not None
    done = job.state == JobState.DONE
    return JobOut(
        id=job.id,
        kind=job.kind,
        state=str(job.state),
        stage=job.stage,
        parameters=json.loads(job.parameters),
        rows_total=job.rows_total,
        rows_done=job.rows_done,
        progress=jobs.progress(job),
        requested_by=job.requested_by,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        error=job.error,
        file=f"{router.prefix}/jobs/{job.id}/file" if done else None,
    )
