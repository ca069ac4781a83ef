"""Finance and audit in the portal (issue 14, point 4), without a browser: a payout run started
from the portal and followed to its end, a bank statement uploaded and reconciled, the approved
redemptions waiting for a receiving account (two finance users), numbered pages with totals,
and the auditor's trail (filters, masking, verification, exports that are never formulas)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlmodel import Session, col

from payouts import accounts, runs
from payouts.errors import MakerChecker, RunInProgress
from payouts.models import PayoutBatch, PayoutItem, PayoutRun
from payouts.statement import StatementLine, write_statement
from subsidy import db
from subsidy.audit import service as audit
from subsidy.audit.models import AuditEntry
from subsidy.auth import Role
from subsidy.redemption.models import Redemption
from subsidy.registry.models import Enterprise
from subsidy.web.session import COOKIE, csrf_token
from tests.portal.conftest import token_for
from tests.portal.world import World
from tests.subsidy.test_api import demo_uscc

BAD_STATEMENT = b"value_date,bank_reference,kind,amount\n2020-13-01,R,payment,1.234\n"


def sign_in(client: TestClient, role: Role, subject: str | None = None) -> str:
    token = token_for(role, subject=subject)
    response = client.post("/sign-in", data={"token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_token(client.cookies[COOKIE])


def approved(engine: Engine) -> int:
    with Session(engine) as session:
        query = select(col(Redemption.id)).where(col(Redemption.status) == "approved")
        return len(session.execute(query).all())


def start_run(client: TestClient, csrf: str) -> int:
    response = client.post("/finance/runs", data={"csrf": csrf}, follow_redirects=False)
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/finance/runs/(\d+)", response.headers["location"])
    assert found, response.headers["location"]
    return int(found.group(1))


def test_a_finance_clerk_starts_a_run_and_follows_it_to_the_end(
    client: TestClient, world: World, portal_env: Engine
) -> None:
    waiting = approved(portal_env)
    assert waiting, "the world has approved (automatic) redemptions to pay"
    csrf = sign_in(client, Role.FINANCE)
    run_id = start_run(client, csrf)  # no broker: the run ran once the answer had gone

    page = client.get(f"/finance/runs/{run_id}")
    assert page.status_code == 200
    assert 'data-phase="finished"' in page.text
    assert "hx-get" not in page.text.split('id="run-progress"')[1].split(">")[0]  # polling ends
    with Session(portal_env) as session:
        run = session.get(PayoutRun, run_id)
        assert run is not None
        assert run.state == "gathered"
        assert run.requested_by.startswith("finance:")
        batches = session.execute(select(PayoutBatch).where(col(PayoutBatch.run_id) == run_id))
        tagged = list(batches.scalars())
        assert tagged
        assert all(b.state == "done" for b in tagged)
        assert sum(b.items for b in tagged) == run.items
        progress = runs.progress(session, run_id)
        assert progress.finished
        assert progress.count("paid") + progress.count("returned") == run.items
    assert f'<dd id="run-paid">{progress.count("paid"):,}</dd>' in page.text
    assert approved(portal_env) == run.without_account

    # The polled fragment, the API and the list say the same.
    assert 'data-phase="finished"' in client.get(f"/finance/runs/{run_id}/progress").text
    api = client.get(f"/api/v1/payout-runs/{run_id}", headers=_bearer(Role.AUDITOR))
    assert api.json()["phase"] == "finished"
    assert api.json()["items"] == run.items
    assert f'id="run-{run_id}"' in client.get("/finance/runs").text


def test_one_run_gathers_at_a_time(portal_env: Engine) -> None:
    with db.session_scope(portal_env) as session:
        runs.create(session, by="finance:li.na", batch_size=100)
    with db.session_scope(portal_env) as session, pytest.raises(RunInProgress):
        runs.create(session, by="finance:wang.fang", batch_size=100)


def test_auditors_and_officers_cannot_start_a_run(client: TestClient, portal_env: Engine) -> None:
    for role in (Role.AUDITOR, Role.OFFICER, Role.ENTERPRISE):
        response = client.post("/api/v1/payout-runs", json={}, headers=_bearer(role))
        assert response.status_code == 403, role
    with Session(portal_env) as session:
        assert session.execute(select(PayoutRun)).first() is None


def _bearer(role: Role, subject: str | None = None) -> dict[str, str]:
    uscc = demo_uscc() if role is Role.ENTERPRISE else None
    return {"Authorization": f"Bearer {token_for(role, uscc, subject)}"}


def test_a_statement_is_uploaded_and_its_reconciliation_shown(
    client: TestClient, world: World, portal_env: Engine, tmp_path: Path
) -> None:
    csrf = sign_in(client, Role.FINANCE)
    start_run(client, csrf)
    with Session(portal_env) as session:
        paid = list(
            session.execute(select(PayoutItem).where(col(PayoutItem.state) == "paid")).scalars()
        )
    assert paid
    day = paid[0].paid_on or date.today()
    lines = [
        StatementLine(day, i.bank_reference or "", i.idempotency_key, "payment", i.net)
        for i in paid
    ]
    stray = StatementLine(day, "BANK-STRAY-1", None, "payment", Decimal("12.30"))
    path = tmp_path / "statement-2020-06-30.csv"
    write_statement(path, [*lines, stray])

    with path.open("rb") as file:
        response = client.post(
            "/finance/statements",
            data={"csrf": csrf},
            files={"statement": (path.name, file, "text/csv")},
            follow_redirects=False,
        )
    assert response.status_code == 303, response.text
    shown = client.get(response.headers["location"])
    assert f'<dd id="statement-matched">{len(paid):,}</dd>' in shown.text
    assert "无对应支付 1" in shown.text  # the stray line, by kind
    assert "BANK-STRAY-1" in shown.text
    assert "statement-2020-06-30.csv" in client.get("/finance/statements").text

    with path.open("rb") as file:  # the same file again: nothing new, the first result shown
        again = client.post(
            "/finance/statements", data={"csrf": csrf}, files={"statement": (path.name, file)}
        )
    assert 'id="statement-repeated"' in again.text

    bad = client.post(
        "/finance/statements",
        data={"csrf": csrf},
        files={
            "statement": (
                "bad.csv",
                b"value_date,bank_reference,kind,amount\n2020-13-01,R,payment,1.234\n",
            )
        },
    )
    assert bad.status_code == 422
    assert "value_date" in bad.text
    assert "amount" in bad.text
    api = client.get("/api/v1/bank-statements", headers=_bearer(Role.AUDITOR))
    assert api.headers["X-Total-Count"] == "1"


def test_a_redemption_waiting_for_an_account_is_paid_once_two_finance_users_agree(
    client: TestClient, world: World, portal_env: Engine
) -> None:
    with db.session_scope(portal_env) as session:
        firm = session.execute(
            select(col(Redemption.uscc)).where(col(Redemption.status) == "approved").limit(1)
        ).scalar_one()
        session.execute(
            update(Enterprise)
            .where(col(Enterprise.uscc) == firm)
            .values(bank_account="not-an-account")
        )
    csrf = sign_in(client, Role.FINANCE, subject="li.na")
    start_run(client, csrf)
    queue = client.get("/finance/accounts")
    assert firm in queue.text
    assert "not-an-account" not in queue.text
    with Session(portal_env) as session:
        waiting, total = accounts.waiting(session, offset=0, limit=50)
    assert firm in {w.uscc for w in waiting}  # (the demo registry has firms with no account)
    assert total == len(waiting)
    assert all(w.registry_account != "not-an-account" for w in waiting)

    entered = client.post(
        f"/finance/accounts/{firm}", data={"csrf": csrf, "account": "6222 0000 1111 2222 333"}
    )
    assert entered.status_code == 200
    assert "须由另一位财务人员确认" in entered.text
    own = client.post(f"/finance/accounts/{firm}/confirm", data={"csrf": csrf})
    assert own.status_code == 409  # maker-checker
    with db.session_scope(portal_env) as session, pytest.raises(MakerChecker):
        accounts.confirm(session, firm, by="officer:li.na")  # the same person under another hat

    other = TestClient(client.app, base_url="http://testserver")
    other_csrf = sign_in(other, Role.FINANCE, subject="wang.fang")
    confirmed = other.post(f"/finance/accounts/{firm}/confirm", data={"csrf": other_csrf})
    assert confirmed.status_code == 200
    assert "下一次支付运行将付款" in confirmed.text
    start_run(other, other_csrf)
    with Session(portal_env) as session:
        paid_to = (
            session.execute(select(col(PayoutItem.account)).where(col(PayoutItem.uscc) == firm))
            .scalars()
            .all()
        )
        trail = [
            e.action
            for e in session.execute(
                select(AuditEntry).where(col(AuditEntry.subject) == f"payee_account:{firm}")
            ).scalars()
        ]
    assert "6222000011112222333" in paid_to
    assert trail == ["payee_account.enter", "payee_account.confirm"]
    assert firm not in client.get("/finance/accounts").text


def test_lists_are_paged_with_their_totals(
    client: TestClient, world: World, portal_env: Engine
) -> None:
    csrf = sign_in(client, Role.FINANCE)
    start_run(client, csrf)
    with Session(portal_env) as session:
        batches = session.execute(select(PayoutBatch)).scalars().all()
    api = client.get("/api/v1/payout-batches?limit=1&page=2", headers=_bearer(Role.FINANCE))
    assert api.headers["X-Total-Count"] == str(len(batches))
    assert [b["id"] for b in api.json()] == [sorted(b.id for b in batches)[-2]]
    biggest = max(batches, key=lambda b: b.items)
    items = client.get(
        f"/api/v1/payout-batches/{biggest.id}/items?limit=1&page=1", headers=_bearer(Role.AUDITOR)
    )
    assert items.headers["X-Total-Count"] == str(biggest.items)
    page = client.get("/finance/batches")
    assert f"共 {len(batches):,} 条" in page.text


def test_the_auditor_reads_filters_verifies_and_exports_the_trail(
    client: TestClient, portal_env: Engine
) -> None:
    with db.session_scope(portal_env) as session:
        audit.record(
            session,
            actor="finance:li.na",
            action="payee_account.enter",
            subject='=HYPERLINK("http://evil")',
            after={"account": "6222000011112222333"},
        )
        audit.record(session, actor="officer:zhang", action="policy.publish", subject="policy:x")
    for role in (Role.FINANCE, Role.OFFICER, Role.ENTERPRISE):
        assert client.get("/api/v1/audit-entries", headers=_bearer(role)).status_code == 403
    answer = client.get("/api/v1/audit-entries?actor=finance:*", headers=_bearer(Role.AUDITOR))
    assert answer.status_code == 200
    assert answer.headers["X-Total-Count"] == "1"
    (entry,) = answer.json()
    assert entry["after"] == {"account": "***************2333"}

    sign_in(client, Role.AUDITOR)
    page = client.get("/audit?action=policy.publish")
    assert "policy:x" in page.text
    assert "HYPERLINK" not in page.text
    assert "6222000011112222333" not in client.get("/audit").text
    csrf = csrf_token(client.cookies[COOKIE])
    verdict = client.post("/audit/verify", data={"csrf": csrf}, headers={"HX-Request": "true"})
    assert 'id="verdict-intact"' in verdict.text

    exported = client.get("/audit/export.csv?actor=finance:*")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[1][4] == '\'=HYPERLINK("http://evil")'  # text, never a formula
    assert "6222000011112222333" not in exported.text
    xlsx = client.get("/audit/export.xlsx?actor=finance:*").content
    cell = openpyxl.load_workbook(io.BytesIO(xlsx))["audit"]["E2"]
    assert cell.value == '=HYPERLINK("http://evil")'
    assert cell.data_type == "s"


def test_the_trail_is_filtered_by_the_day_users_read(
    client: TestClient, portal_env: Engine
) -> None:
    """01:30 on 1 July in Beijing is 17:30 on 30 June in UTC: the entry is on 1 July's page."""
    with db.session_scope(portal_env) as session:
        audit.record(session, actor="officer:zhang", action="policy.publish", subject="policy:late")
    with db.session_scope(portal_env) as session:
        session.execute(update(AuditEntry).values(at=datetime(2020, 6, 30, 17, 30, tzinfo=UTC)))
    sign_in(client, Role.AUDITOR)
    first_of_july = client.get("/audit?from=2020-07-01&to=2020-07-01").text
    assert "policy:late" in first_of_july
    assert "2020-07-01 01:30:00" in first_of_july
    assert "policy:late" not in client.get("/audit?from=2020-06-30&to=2020-06-30").text


def test_a_broken_chain_is_named_on_the_page(client: TestClient, portal_env: Engine) -> None:
    with db.session_scope(portal_env) as session:
        audit.record(session, actor="officer:zhang", action="policy.publish", subject="policy:x")
        audit.record(session, actor="officer:zhang", action="policy.publish", subject="policy:y")
    with db.session_scope(portal_env) as session:
        first = session.execute(select(AuditEntry).order_by(col(AuditEntry.id))).scalars().first()
        assert first is not None
        first.subject = "policy:rewritten"
        broken_id = first.id
    csrf = sign_in(client, Role.AUDITOR)
    page = client.post("/audit/verify", data={"csrf": csrf})
    assert 'id="verdict-broken"' in page.text
    assert f"第 {broken_id} 条记录处断开" in page.text


def test_policies_and_drafts_are_paged_with_their_totals(client: TestClient, world: World) -> None:
    officer = _bearer(Role.OFFICER)
    every = client.get("/api/v1/policies", headers=officer)
    assert every.headers["X-Total-Count"] == str(len(every.json()))
    third = client.get("/api/v1/policies?size=5&page=3", headers=officer)
    assert [p["id"] for p in third.json()] == [p["id"] for p in every.json()][10:15]
    drafts = client.get("/api/v1/policy-drafts?size=1", headers=_bearer(Role.AUDITOR))
    assert drafts.headers["X-Total-Count"] == "0"
    sign_in(client, Role.OFFICER)
    assert f"共 {len(every.json()):,} 条" in client.get("/officer/policies").text
