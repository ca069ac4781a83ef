"""Report downloads, for finance and auditors (`reports.service.READERS`, as the API's
/api/v1/reports): the disbursement workbook, sent at once when small, else a job whose page
polls its progress until the file is ready; the recent jobs below the form.

A filter the report refuses is a `PageRefusal` (the unit of work rolls back): the form again,
with the field at fault, 422.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.background import BackgroundTask

from reports import service as report_service
from reports.errors import JobFileMissing, JobNotReady, ReportError
from reports.models import ReportJob
from subsidy.api.params import RowId
from subsidy.api.security import DbSession
from subsidy.auth import Principal
from subsidy.settings import get_settings
from subsidy.web import views
from subsidy.web.paging import pager
from subsidy.web.session import page_rate_limited
from subsidy.web.shared import PageRefusal, ReportReader, back, not_found
from subsidy.web.templating import language, render

router = APIRouter(include_in_schema=False)

ReportLimit = Depends(page_rate_limited("report"))

RECENT_JOBS = 20


@router.get("/finance/reports", response_class=HTMLResponse)
def reports(request: Request, me: ReportReader, session: DbSession) -> HTMLResponse:
    return _reports_page(request, me, session, views.ReportForm())


@router.get("/finance/reports/table", response_class=HTMLResponse)
def report_jobs_table(request: Request, me: ReportReader, session: DbSession) -> HTMLResponse:
    """The jobs alone (of the page shown): the page polls it while one is queued or running."""
    return render(request, "_report_jobs.html", _jobs_page(request, session), me=me)


def _jobs_page(request: Request, session: DbSession) -> dict[str, object]:
    paged = pager(
        request, views.count_report_jobs(session), size=RECENT_JOBS, path="/finance/reports"
    )
    return {"jobs": views.recent_report_jobs(session, paged.size, paged.offset), "pager": paged}


@router.get("/finance/reports/disbursements.xlsx", dependencies=[ReportLimit])
def disbursements_report(
    request: Request,
    me: ReportReader,
    session: DbSession,
    date_from: Annotated[str, Query(alias="from")] = "",
    date_to: Annotated[str, Query(alias="to")] = "",
    policy: str = "",
) -> Response:
    """The disbursement workbook as the API's export makes it: sent at once when small, else
    queued as a job whose page the browser is sent to. A bad filter: the form again, 422."""
    form = views.ReportForm(date_from, date_to, policy)
    errors = form.date_errors()
    if errors:
        return _reports_page(request, me, session, form, errors, status=422)
    period = form.period()
    try:
        done = report_service.export_disbursements(session, period, me.actor, language(request))
    except ReportError as exc:
        errors = views.report_refusal(exc, period, language(request))
        raise PageRefusal(_reports_page(request, me, session, form, errors, status=422)) from exc
    if isinstance(done, report_service.Queued):
        run = done.run_after_answer
        background = BackgroundTask(run) if run else None
        return back(f"/finance/reports/jobs/{done.job_id}", background)
    return FileResponse(
        done.path,
        media_type=report_service.XLSX,
        filename=done.download_name,
        background=BackgroundTask(done.path.unlink, missing_ok=True),
    )


def _reports_page(
    request: Request,
    me: Principal,
    session: DbSession,
    form: views.ReportForm,
    errors: dict[str, views.Words] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "form": form,
        "errors": errors or {},
        "policies": views.reportable_policies(session),
    } | _jobs_page(request, session)
    return render(request, "finance_reports.html", context, status=status, me=me)


@router.get("/finance/reports/jobs/{job_id}", response_class=HTMLResponse)
def report_job(request: Request, job_id: RowId, me: ReportReader, session: DbSession) -> Response:
    return _report_job_page(request, me, session.get(ReportJob, job_id))


@router.get("/finance/reports/jobs/{job_id}/progress", response_class=HTMLResponse)
def report_job_progress(
    request: Request, job_id: RowId, me: ReportReader, session: DbSession
) -> Response:
    """The job's state alone: its page polls it while the job is queued or running."""
    job = session.get(ReportJob, job_id)
    if job is None:
        return not_found(request, me)
    return render(request, "_report_job.html", {"row": views.report_job(job)}, me=me)


@router.get("/finance/reports/jobs/{job_id}/file")
def report_job_file(
    request: Request, job_id: RowId, me: ReportReader, session: DbSession
) -> Response:
    """The finished workbook; before it is ready (or when it failed, or its file has gone) the
    job's page says why, with the API's status (409, or 404)."""
    job = session.get(ReportJob, job_id)
    if job is None:
        return _report_job_page(request, me, job)
    try:
        found = report_service.job_file(get_settings().data_dir, job)
    except JobNotReady:
        return _report_job_page(request, me, job, asked="not_ready", status=409)
    except JobFileMissing:
        return _report_job_page(request, me, job, asked="file_missing", status=404)
    return FileResponse(found.path, media_type=report_service.XLSX, filename=found.download_name)


def _report_job_page(
    request: Request,
    me: Principal,
    job: ReportJob | None,
    *,
    asked: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    if job is None:
        return not_found(request, me)
    context = {"row": views.report_job(job), "asked": asked}
    return render(request, "finance_report_job.html", context, status=status, me=me)
