"""Report downloads in the portal: the API's export behind a form, for finance and auditors.

A small report is sent at once and adds up to the database's figures; a bad filter is the form
again with the message at its field (422); a large one becomes a job whose page shows its
progress and then a download link; a job's file is 409 before it is ready, 404 once gone."""

from __future__ import annotations

import datetime as dt
import io
import re
import tempfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from reports import disbursements, endpoints, jobs, tasks
from reports.models import JobState, ReportJob
from reports.queries import Period
from subsidy import db
from subsidy.auth import Role
from subsidy.jobs import celery_app
from subsidy.web import reports as report_pages
from tests.portal.test_pages import declared_roles, filled, page_routes, sign_in
from tests.reports.helpers import Payouts, build_payouts, table_rows
from tests.reports.test_disbursements import Truth, yuan
from tests.snapshots import Snapshots

URL = "/finance/reports/disbursements.xlsx"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ALL_ITEMS = 82
"""Payout items `build_payouts` makes (the API's job test counts the same)."""


@pytest.fixture
def paid(portal_env: Engine, data_dir: Path, tmp_path: Path, worlds: Snapshots) -> Payouts:
    return worlds.once(
        "reports", lambda: build_payouts(portal_env, data_dir, tmp_path / "registry")
    )


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where a small report is written aside before it is sent (and must not stay)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def book(content: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(content))


def report_jobs(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(ReportJob)).scalar_one())


def report_routes() -> list[str]:
    return [filled(r.path) for r in page_routes() if r.path.startswith("/finance/reports")]


def test_report_pages_admit_exactly_the_api_readers(client: TestClient, paid: Payouts) -> None:
    routes = [r for r in page_routes() if r.path.startswith("/finance/reports")]
    assert {r.path for r in routes} >= {
        "/finance/reports",
        URL,
        "/finance/reports/jobs/{job_id}",
        "/finance/reports/jobs/{job_id}/file",
    }
    for route in routes:
        assert set(declared_roles(route) or ()) == set(endpoints.READERS), route.path
    for role, uscc in ((Role.ENTERPRISE, paid.usccs[0]), (Role.OFFICER, None)):
        client.cookies.clear()
        sign_in(client, role, uscc)
        for path in report_routes():
            answer = client.get(path, follow_redirects=False)
            assert answer.status_code == 403, path
            assert "您的角色无权查看此页面" in answer.text


def test_finance_and_auditors_find_the_reports_in_the_navigation(client: TestClient) -> None:
    for role in (Role.FINANCE, Role.AUDITOR):
        client.cookies.clear()
        sign_in(client, role)
        page = client.get("/finance/batches").text
        assert '<a href="/finance/reports">报表下载</a>' in page  # the navigation
        assert 'id="reports-link"' in page
        assert "Report downloads" in client.get("/finance/batches?lang=en").text
        form = client.get("/finance/reports")
        assert form.status_code == 200
        assert 'action="/finance/reports/disbursements.xlsx"' in form.text
        assert 'class="current">报表下载' in form.text
    client.cookies.clear()
    sign_in(client, Role.OFFICER)
    assert "/finance/reports" not in client.get("/officer/policies").text


def test_the_form_offers_every_published_policy_or_all(client: TestClient, paid: Payouts) -> None:
    sign_in(client, Role.AUDITOR)
    page = client.get("/finance/reports").text
    options = re.findall(r'<option value="([^"]*)"', page)
    assert options == ["", *paid.policies]
    assert "还没有报表任务" in page


def test_a_small_report_downloads_and_adds_up(
    client: TestClient, paid: Payouts, portal_env: Engine, temp_dir: Path
) -> None:
    sign_in(client, Role.FINANCE)
    params = {"from": "2026-03-01", "to": "2026-03-10", "policy": "rep-b"}
    answer = client.get(URL, params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == XLSX
    disposition = answer.headers["content-disposition"]
    assert 'filename="disbursements-rep-b-2026-03-01-2026-03-10.xlsx"' in disposition
    wb = book(answer.content)
    assert wb.properties.creator == "finance:finance-tester"
    truth = Truth(portal_env, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 10), "rep-b"))
    _, rows, total = table_rows(wb["汇总"], "ByPolicy")  # in the portal's language
    assert [r[0] for r in rows] == ["rep-b"]
    paid_b, returned_b, *_ = truth.lines("policy")["rep-b"]
    assert paid_b > 0
    assert (yuan(rows[0][4]), yuan(rows[0][5])) == (paid_b, returned_b)
    assert (yuan(total[4]), yuan(total[5])) == truth.total()[:2]
    assert not list(temp_dir.iterdir()), "the workbook written aside is deleted once sent"
    assert report_jobs(portal_env) == 0


def test_an_empty_form_is_every_date_and_policy(client: TestClient, paid: Payouts) -> None:
    sign_in(client, Role.AUDITOR)
    answer = client.get(URL, params={"from": "", "to": "", "policy": ""})
    assert answer.status_code == 200, answer.text
    assert 'filename="disbursements.xlsx"' in answer.headers["content-disposition"]
    _, rows, _ = table_rows(book(answer.content)["汇总"], "ByPolicy")
    assert [r[0] for r in rows] == paid.policies


@pytest.mark.parametrize(
    ("params", "field", "said"),
    [
        ({"from": "2026-04-01", "to": "2026-03-01"}, "from", "开始日期（2026-04-01）晚于结束日期"),
        ({"policy": "nope"}, "policy", "没有编号为 nope 的政策"),
        ({"from": "2026-13-01"}, "from", "日期应为 年-月-日：2026-13-01"),
        ({"to": "<b>soon</b>"}, "to", "日期应为 年-月-日：&lt;b&gt;soon&lt;/b&gt;"),
    ],
)
def test_a_bad_filter_is_the_form_again_with_the_field_error(
    client: TestClient,
    paid: Payouts,
    portal_env: Engine,
    params: dict[str, str],
    field: str,
    said: str,
) -> None:
    sign_in(client, Role.FINANCE)
    answer = client.get(URL, params=params)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    error = re.search(rf'class="field-error" id="{field}-error"[^>]*>(.*?)</span>', answer.text)
    assert error, answer.text
    assert said in error.group(1)
    assert f'aria-describedby="{field}-error"' in answer.text
    assert answer.text.count('class="field-error"') == 1
    assert "<b>soon</b>" not in answer.text  # what was typed comes back escaped
    assert report_jobs(portal_env) == 0


def test_a_field_error_in_english(client: TestClient, paid: Payouts) -> None:
    sign_in(client, Role.AUDITOR)
    answer = client.get(URL, params={"policy": "nope", "lang": "en"})
    assert answer.status_code == 422
    assert "There is no policy nope." in answer.text


def test_a_large_report_is_a_job_with_a_page_and_a_download(
    client: TestClient, paid: Payouts, portal_env: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a broker the job runs once the redirect has been sent: its page shows it done."""
    sign_in(client, Role.AUDITOR)
    small = client.get(URL)  # what the job must also write
    assert small.status_code == 200
    monkeypatch.setattr(jobs, "LARGE", 10)
    client.cookies.clear()
    sign_in(client, Role.FINANCE)

    answer = client.get(URL, follow_redirects=False)
    assert answer.status_code == 303
    location = answer.headers["location"]
    job_id = int(location.rsplit("/", 1)[1])
    assert location == f"/finance/reports/jobs/{job_id}"

    page = client.get(location)
    assert page.status_code == 200
    assert 'class="state">已完成' in page.text
    assert 'title="100%"' in page.text
    assert f"{ALL_ITEMS} / {ALL_ITEMS} 行" in page.text
    assert f'id="download" href="/finance/reports/jobs/{job_id}/file"' in page.text
    assert "hx-get" not in page.text  # done: it stops polling
    download = client.get(f"{location}/file")
    assert download.status_code == 200
    assert download.headers["content-type"] == XLSX
    assert 'filename="disbursements.xlsx"' in download.headers["content-disposition"]
    for name in ("ByPolicy", "ByDistrict", "ByDay"):
        assert table_rows(book(download.content)["汇总"], name) == table_rows(
            book(small.content)["汇总"], name
        )

    listed = client.get("/finance/reports").text
    row = re.search(rf'<tr id="report-job-{job_id}">(.*?)</tr>', listed, re.S)
    assert row
    assert "财务 finance-tester" in row.group(1)  # finance:finance-tester, the role by name
    assert "已完成" in row.group(1)
    assert f'href="/finance/reports/jobs/{job_id}/file"' in row.group(1)


def test_a_job_page_shows_progress_then_a_download_link(
    client: TestClient,
    paid: Payouts,
    portal_env: Engine,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a broker the job waits for a worker: the page polls while it is queued and running,
    and its file is 409 until it is done."""
    sent: list[int] = []
    monkeypatch.setattr(jobs, "LARGE", 10)
    celery_app.conf.task_always_eager = False  # the autouse fixture configures it back
    monkeypatch.setattr(tasks.build_disbursements, "delay", sent.append)
    sign_in(client, Role.FINANCE)
    english = {"policy": "rep-a", "lang": "en"}  # the workbook in English; the job keeps it
    answer = client.get(URL, params=english, follow_redirects=False)
    assert answer.status_code == 303
    location = answer.headers["location"]
    (job_id,) = sent  # sent once the request committed
    assert location == f"/finance/reports/jobs/{job_id}"
    poll = f'hx-get="/finance/reports/jobs/{job_id}/progress"'

    queued = client.get(location).text
    assert 'class="state">排队中' in queued
    assert poll in queued
    assert 'title="0%"' in queued
    assert 'id="download"' not in queued
    not_ready = client.get(f"{location}/file")
    assert not_ready.status_code == 409
    assert "报表尚未生成完毕" in not_ready.text

    with db.session_scope(portal_env) as session:
        job = jobs.start(session, job_id)
        assert job is not None
        assert job.rows_total == 47  # rep-a: 40 redemptions, 7 of them returned and paid again
        jobs.advance(session, job_id, "writing the ledger", 20)
    running = client.get(f"{location}/progress").text
    assert running.lstrip().startswith('<div id="report-job"')  # the fragment alone
    assert 'class="state">生成中' in running
    assert "写入明细" in running
    assert 'title="42%"' in running  # 20 of 47
    assert "20 / 47 行" in running
    assert poll in running
    assert client.get(f"{location}/file").status_code == 409

    tasks.run(job_id)
    done = client.get(f"{location}/progress").text
    assert 'class="state">已完成' in done
    assert poll not in done
    assert f'href="/finance/reports/jobs/{job_id}/file"' in done
    download = client.get(f"{location}/file")
    assert download.status_code == 200
    assert 'filename="disbursements-rep-a.xlsx"' in download.headers["content-disposition"]
    _, rows, _ = table_rows(book(download.content)["Summary"], "ByPolicy")
    assert [r[0] for r in rows] == ["rep-a"]

    (data_dir / "reports" / jobs.file_name(_job(portal_env, job_id))).unlink()
    gone = client.get(f"{location}/file")
    assert gone.status_code == 404
    assert "该报表文件已不在数据目录中" in gone.text


def test_a_failed_job_says_why_and_has_no_file(
    client: TestClient, paid: Payouts, portal_env: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.session_scope(portal_env) as session:
        job_id = jobs.create(session, Period(), "finance:x", 200_000).id
    assert job_id is not None

    def broken(*args: Any, **kw: Any) -> Any:
        raise RuntimeError("disk <full>")

    monkeypatch.setattr(disbursements, "write", broken)
    tasks.run(job_id)
    assert _job(portal_env, job_id).state == JobState.FAILED
    sign_in(client, Role.AUDITOR)
    page = client.get(f"/finance/reports/jobs/{job_id}").text
    assert 'class="state">失败' in page
    assert "生成失败：RuntimeError: disk &lt;full&gt;" in page
    assert "hx-get" not in page
    assert 'id="download"' not in page
    refused = client.get(f"/finance/reports/jobs/{job_id}/file")
    assert refused.status_code == 409
    assert "disk &lt;full&gt;" in refused.text


def test_an_unknown_job_is_not_found(client: TestClient) -> None:
    sign_in(client, Role.FINANCE)
    for path in ("", "/progress", "/file"):
        answer = client.get(f"/finance/reports/jobs/999999{path}")
        assert answer.status_code == 404, path
        assert "没有找到" in answer.text


def test_the_recent_jobs_poll_while_one_runs(client: TestClient, portal_env: Engine) -> None:
    with db.session_scope(portal_env) as session:
        for n in range(report_pages.RECENT_JOBS + 2):
            jobs.create(session, Period(policy_id=f"p{n}"), "finance:x", 200_000)
    sign_in(client, Role.FINANCE)
    table = client.get("/finance/reports/table").text
    assert table.lstrip().startswith('<div id="report-jobs" hx-get="/finance/reports/table"')
    shown = [int(n) for n in re.findall(r'<tr id="report-job-(\d+)"', table)]
    assert len(shown) == report_pages.RECENT_JOBS
    assert shown == sorted(shown, reverse=True)  # newest first
    assert shown[0] == report_pages.RECENT_JOBS + 2
    with db.session_scope(portal_env) as session:
        for job in session.execute(select(ReportJob)).scalars():
            job.state = JobState.FAILED
    assert "hx-get" not in client.get("/finance/reports/table").text


def _job(engine: Engine, job_id: int) -> ReportJob:
    with Session(engine) as session:
        job = session.get(ReportJob, job_id)
        assert job is not None
        return job
