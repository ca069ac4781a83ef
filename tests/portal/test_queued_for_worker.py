"""A payout run or a report job queued for the Celery workers says so on its page, and what to
start when it stays queued; without a broker (work runs in the server) it says nothing of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from payouts import runs
from reports import jobs as report_jobs
from reports.queries import Period
from subsidy import db, jobs
from subsidy.app import create_app
from subsidy.auth import Role
from subsidy.i18n import text
from subsidy.settings import get_settings
from tests.portal.test_finance_pages import sign_in, start_run

NOTE = 'id="run-queued-note"'


@pytest.fixture
def on_a_broker(
    portal_env: Engine, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setenv("QINQING_BROKER_URL", redis_url)
    get_settings.cache_clear()
    jobs.configure(broker_url=redis_url)  # and no worker: what is sent stays queued
    with TestClient(create_app(), base_url="http://testserver") as client:
        yield client
    get_settings.cache_clear()


@pytest.mark.redis
def test_a_run_queued_for_the_workers_says_what_to_start(on_a_broker: TestClient) -> None:
    client = on_a_broker
    run_id = start_run(client, sign_in(client, Role.FINANCE))
    page = client.get(f"/finance/runs/{run_id}")
    assert 'data-phase="queued"' in page.text
    assert NOTE in page.text
    assert "qinqing worker" in page.text.split(NOTE)[1].split("</p>")[0]
    english = client.get(f"/finance/runs/{run_id}/progress?lang=en").text
    assert text("en", "ops.queued_for_worker") in english


def test_without_a_broker_a_queued_run_names_no_worker(
    portal_env: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QINQING_BROKER_URL", "")  # also in the CI run on Redis
    get_settings.cache_clear()
    with db.session_scope(portal_env) as session:
        run = runs.create(session, by="finance:li.na", batch_size=100)
    with TestClient(create_app(), base_url="http://testserver") as client:
        sign_in(client, Role.FINANCE)
        page = client.get(f"/finance/runs/{run.id}")
    assert 'data-phase="queued"' in page.text
    assert NOTE not in page.text
    get_settings.cache_clear()


@pytest.mark.redis
def test_a_report_job_queued_for_the_workers_says_what_to_start(
    on_a_broker: TestClient, portal_env: Engine
) -> None:
    with db.session_scope(portal_env) as session:
        job = report_jobs.create(session, Period(), by="finance:li.na", rows=200_000)
    sign_in(on_a_broker, Role.FINANCE)
    page = on_a_broker.get(f"/finance/reports/jobs/{job.id}").text
    assert 'id="report-queued-note"' in page
    assert text("zh", "ops.queued_for_worker") in page
