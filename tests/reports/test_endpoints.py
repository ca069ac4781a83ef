"""GET /api/v1/reports/...: the workbook at once when small, through a Celery job when large."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from reports import _sheets, disbursements, jobs, tasks
from reports.models import JobState, ReportJob
from reports.queries import Period
from subsidy import db
from subsidy.auth import Role, mint
from subsidy.settings import get_settings
from tests.apps import app_for_this_test
from tests.reports.helpers import Payouts, build_payouts, table_rows
from tests.snapshots import Snapshots

URL = "/api/v1/reports/disbursements.xlsx"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def paid(app_env: Engine, data_dir: Path, tmp_path: Path, worlds: Snapshots) -> Payouts:
    return worlds.once("reports", lambda: build_payouts(app_env, data_dir, tmp_path / "registry"))


@pytest.fixture
def client(paid: Payouts) -> Iterator[TestClient]:
    with TestClient(app_for_this_test()) as test_client:
        yield test_client


def token(role: Role, uscc: str | None = None) -> dict[str, str]:
    minted = mint(get_settings(), role, subject=f"{role}-tester", uscc=uscc)
    return {"Authorization": f"Bearer {minted}"}


def book(content: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(content))


def test_finance_and_auditors_download_the_workbook(client: TestClient, paid: Payouts) -> None:
    # Chinese unless asked for English
    for role, lang, summary in ((Role.FINANCE, None, "汇总"), (Role.AUDITOR, "en", "Summary")):
        params = {"policy": "rep-b"} | ({"lang": lang} if lang else {})
        answer = client.get(URL, params=params, headers=token(role))
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == XLSX
        assert 'filename="disbursements-rep-b.xlsx"' in answer.headers["content-disposition"]
        wb = book(answer.content)
        assert wb.properties.creator == f"{role}:{role}-tester"
        _, rows, _ = table_rows(wb[summary], "ByPolicy")
        assert [r[0] for r in rows] == ["rep-b"]
    for role, uscc in ((Role.OFFICER, None), (Role.ENTERPRISE, paid.usccs[0])):
        answer = client.get(URL, headers=token(role, uscc))
        assert answer.status_code == 403
    assert client.get(URL).status_code == 401


def test_a_bad_filter_is_a_problem_naming_the_parameter(client: TestClient) -> None:
    cases = [
        ({"from": "2026-04-01", "to": "2026-03-01"}, "query.from", "after it ends"),
        ({"policy": "nope"}, "query.policy", "no policy 'nope'"),
        ({"from": "2026-13-01"}, "query.from", ""),
        ({"lang": "fr"}, "query.lang", ""),
    ]
    for params, field, said in cases:
        answer = client.get(URL, params=params, headers=token(Role.FINANCE))
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        problem = answer.json()
        assert problem["type"] == "urn:qinqing:problem:invalid-request"
        (error,) = problem["errors"]
        assert error["field"] == field
        assert said in error["message"]


def test_a_large_report_runs_as_a_job(
    client: TestClient, app_env: Engine, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved: list[tuple[str, int]] = []
    advance = jobs.advance

    def spy(session: Session, job_id: int, stage: str, rows_done: int) -> None:
        saved.append((stage, rows_done))
        advance(session, job_id, stage, rows_done)

    monkeypatch.setattr(jobs, "advance", spy)
    monkeypatch.setattr(tasks, "PROGRESS_SECONDS", 0.0)
    monkeypatch.setattr(_sheets, "PROGRESS_EVERY", 20)
    english = {"lang": "en"}
    small = client.get(URL, params=english, headers=token(Role.AUDITOR))  # as the job writes it
    assert small.status_code == 200
    monkeypatch.setattr(jobs, "LARGE", 10)

    answer = client.get(URL, params=english, headers=token(Role.FINANCE))
    assert answer.status_code == 202, answer.text
    queued = answer.json()
    assert queued["state"] == "queued"  # as answered; the task ran once the request committed
    assert queued["rows_total"] == 82
    assert queued["parameters"] == {"from": None, "to": None, "policy": None, "lang": "en"}
    location = answer.headers["location"]
    assert location == f"/api/v1/reports/jobs/{queued['id']}"

    state = client.get(location, headers=token(Role.AUDITOR)).json()
    assert state["state"] == "done", state
    assert state["progress"] == 1.0
    assert state["rows_done"] == state["rows_total"] == 82
    assert state["requested_by"] == "finance:finance-tester"
    assert state["file"] == f"{location}/file"
    ledger_progress = [rows for stage, rows in saved if stage == "writing the ledger"]
    assert ledger_progress == sorted(ledger_progress)
    assert ledger_progress[-1] == 82
    assert len(ledger_progress) >= 4  # 20, 40, 60, 80, 82 rows

    download = client.get(state["file"], headers=token(Role.FINANCE))
    assert download.status_code == 200
    assert download.headers["content-type"] == XLSX
    for name in ("ByPolicy", "ByDistrict", "ByDay"):
        assert table_rows(book(download.content)["Summary"], name) == table_rows(
            book(small.content)["Summary"], name
        )
    assert (data_dir / "reports" / f"disbursements-{queued['id']:08d}.xlsx").is_file()
    assert not list((data_dir / "reports").glob(".*"))


def test_a_job_not_done_or_failed_has_no_file(
    client: TestClient, app_env: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.session_scope(app_env) as session:
        waiting = jobs.create(session, Period(), "finance:x", 200_000)
    answer = client.get(f"/api/v1/reports/jobs/{waiting.id}/file", headers=token(Role.FINANCE))
    assert answer.status_code == 409
    assert answer.json()["type"] == "urn:qinqing:problem:report-not-ready"
    assert answer.json()["state"] == "queued"

    def broken(*args: Any, **kw: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(disbursements, "write", broken)
    tasks.run(waiting.id or 0)
    state = client.get(f"/api/v1/reports/jobs/{waiting.id}", headers=token(Role.FINANCE)).json()
    assert state["state"] == "failed"
    assert state["error"] == "RuntimeError: disk full"
    answer = client.get(f"/api/v1/reports/jobs/{waiting.id}/file", headers=token(Role.FINANCE))
    assert answer.status_code == 409
    assert "disk full" in answer.json()["detail"]
    missing = client.get("/api/v1/reports/jobs/999999", headers=token(Role.FINANCE))
    assert missing.status_code == 404
    assert client.get("/api/v1/reports/jobs/1", headers=token(Role.OFFICER)).status_code == 403


def test_a_job_delivered_again_is_done_once(app_env: Engine, data_dir: Path, paid: Payouts) -> None:
    with db.session_scope(app_env) as session:
        job = jobs.create(session, Period(policy_id="rep-a"), "finance:x", 41)
    assert job.id is not None
    tasks.run(job.id)
    with Session(app_env) as session:
        done = session.get(ReportJob, job.id)
        assert done is not None
        assert done.state == JobState.DONE
        assert done.rows_done == 47  # 40 redemptions, 7 of them returned and paid again
        finished = done.finished_at
    path = data_dir / "reports" / f"disbursements-{job.id:08d}.xlsx"
    stamp = path.stat().st_mtime_ns
    tasks.run(job.id)  # acks_late: the same message again after a lost worker
    with Session(app_env) as session:
        again = session.get(ReportJob, job.id)
        assert again is not None
        assert again.finished_at == finished
    assert path.stat().st_mtime_ns == stamp
    tasks.run(123456)  # an unknown job: nothing to do


def test_with_a_broker_the_job_is_sent_after_the_commit(
    client: TestClient, app_env: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from subsidy.jobs import celery_app

    sent: list[tuple[int, str]] = []

    def delay(job_id: int) -> None:
        with Session(app_env) as session:  # the job row is committed when the task is sent
            job = session.get(ReportJob, job_id)
            assert job is not None
            sent.append((job_id, job.state))

    monkeypatch.setattr(jobs, "LARGE", 10)
    celery_app.conf.task_always_eager = False  # the autouse fixture configures it back
    monkeypatch.setattr(tasks.build_disbursements, "delay", delay)
    answer = client.get(URL, headers=token(Role.FINANCE))
    assert answer.status_code == 202
    assert sent == [(answer.json()["id"], "queued")]
