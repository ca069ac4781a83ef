"""The finance and audit journeys of issue 14 in a real browser (Debian's Chromium, headless,
driven by Playwright against the app served by uvicorn, as `test_browser.py`): a finance clerk
starts a payout run, watches it finish, uploads the bank's statement and sees its
reconciliation; an auditor filters the trail, verifies the chain and exports it. Each new page
is screenshot into test-artifacts/portal/ (ignored by git) to be looked at."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from payouts.models import PayoutItem
from payouts.statement import StatementLine, write_statement
from subsidy.auth import Role
from tests.portal.conftest import token_for
from tests.portal.test_browser import browser, page, server, sign_in  # noqa: F401  (fixtures)
from tests.portal.world import World

if TYPE_CHECKING:
    from playwright.sync_api import Page


def _shot(opened: Page, request: pytest.FixtureRequest, name: str) -> None:
    folder = request.config.rootpath / "test-artifacts" / "portal"
    folder.mkdir(parents=True, exist_ok=True)
    opened.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_a_finance_clerk_runs_payouts_and_reconciles_the_statement(
    page: Page,  # noqa: F811
    server: str,  # noqa: F811
    world: World,
    portal_env: Engine,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    from playwright.sync_api import expect

    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, server, token_for(Role.FINANCE, subject="li.na"))
    page.click("text=支付运行")
    expect(page.locator("h1")).to_have_text("支付运行")
    page.click("#start-run")
    expect(page).to_have_url(re.compile(r"/finance/runs/\d+$"))
    # The page polls its progress until every batch of the run is settled.
    expect(page.locator("#run-phase")).to_have_text("已完成", timeout=60_000)
    expect(page.locator("#run-progress")).to_have_attribute("data-phase", "finished")
    expect(page.locator("#run-paid")).to_have_text(re.compile(r"^[1-9][\d,]*$"))
    _shot(page, request, "finance-run")

    with Session(portal_env) as session:
        paid = list(
            session.execute(select(PayoutItem).where(col(PayoutItem.state) == "paid")).scalars()
        )
    day = paid[0].paid_on or date.today()
    lines = [
        StatementLine(day, i.bank_reference or "", i.idempotency_key, "payment", i.net)
        for i in paid[1:]  # the bank's file lacks the first payment
    ]
    statement = tmp_path / "对账单-2020-06-30.csv"
    write_statement(statement, lines)

    page.click("text=银行对账单")
    page.set_input_files("#statement-file", str(statement))
    page.click("#upload-statement")
    expect(page).to_have_url(re.compile(r"/finance/statements/[0-9a-f]{64}$"))
    expect(page.locator("#statement-matched")).to_have_text(f"{len(lines):,}")
    expect(page.locator("#statement-exceptions")).to_contain_text("对账单上没有 1")
    expect(page.locator("#statement-exception-list tbody tr")).to_have_count(1)
    _shot(page, request, "finance-statement")

    page.click("text=待补收款账户")
    expect(page.locator("h1")).to_have_text("待补收款账户")
    _shot(page, request, "finance-accounts")
    page.click("text=支付批次")
    expect(page.locator("#batches-pager")).to_contain_text("共")
    _shot(page, request, "finance-batches")


def test_an_auditor_filters_verifies_and_exports_the_trail(
    page: Page,  # noqa: F811
    server: str,  # noqa: F811
    world: World,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    from playwright.sync_api import expect

    sign_in(page, server, token_for(Role.AUDITOR, subject="zhao"))
    expect(page).to_have_url(f"{server}/audit")
    expect(page.locator("h1")).to_have_text("审计日志")
    page.fill("#audit-action", "policy.*")
    page.click("#audit-apply")
    expect(page).to_have_url(re.compile(r"action=policy"))
    rows = page.locator("#audit-entries tbody tr")
    expect(rows.first).to_contain_text("policy.")
    expect(page.locator("#audit-pager")).to_contain_text("共 13 条")  # thirteen publishes

    page.click("#verify-chain")
    expect(page.locator("#verdict-intact")).to_contain_text("哈希链完整")
    _shot(page, request, "audit-trail")

    with page.expect_download() as download:
        page.click("#export-csv")
    saved = tmp_path / "audit.csv"
    download.value.save_as(saved)
    exported = saved.read_text(encoding="utf-8-sig").splitlines()
    assert exported[0] == "id,at,actor,action,subject,before,after,hash"
    assert len(exported) == 14
    assert all(",policy." in line for line in exported[1:])
