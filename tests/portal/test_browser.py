"""The two journeys of issue 7 in a real browser: Debian's Chromium, headless, driven by
Playwright against the app served by uvicorn on a free port over the test's database.

They skip when /usr/bin/chromium or playwright is missing, except under CI=true, where they
fail. A failing journey leaves a screenshot in test-artifacts/portal/ (ignored by git). The
browser reports every Content-Security-Policy violation on its console: a journey fails on one
(an inline script, style or handler the policy blocked would otherwise fail silently).

Issue 15's journeys: a firm reads its reasons in plain words, an officer completes column
names in the editor; their screenshots go to test-artifacts/ (or QINQING_SHOTS).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvicorn
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from policies.models import Policy
from subsidy import db
from subsidy.app import create_app
from subsidy.auth import Principal, Role
from subsidy.cli import app as cli
from subsidy.settings import get_settings
from subsidy.signin import service as signin
from tests.portal.conftest import token_for
from tests.portal.world import World

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def server(portal_env: Engine) -> Iterator[str]:
    """The app on a free local port, in a thread of this process (same settings, same DB)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not running.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the portal did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    refused: list[str] = []

    def csp_refusals(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    opened.on("console", csp_refusals)
    yield opened
    assert not refused, refused
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        folder = request.config.rootpath / "test-artifacts" / "portal"
        folder.mkdir(parents=True, exist_ok=True)
        opened.screenshot(path=str(folder / f"{request.node.name}.png"), full_page=True)
    context.close()


def sign_in(page: Page, server: str, token: str) -> None:
    """An officer who holds a bearer token pastes it into the form."""
    page.goto(f"{server}/sign-in")
    page.fill("#token", token)
    page.click("button[type=submit]")


def follow_sign_in_link(page: Page, server: str, who: Principal) -> None:
    """As the demo's links: a one-time code, the form names who, one click uses it."""
    with db.session_scope() as session:
        issued = signin.issue_code(session, get_settings(), who, issued_by="system:test")
    page.goto(f"{server}/sign-in?code={issued.code}")
    page.click("#sign-in-with-code")


def test_a_firm_redeems_and_sees_it_paid(
    page: Page, server: str, world: World, portal_env: Engine
) -> None:
    from playwright.sync_api import expect

    firm = Principal(subject="demo-enterprise", role=Role.ENTERPRISE, uscc=world.firm)
    follow_sign_in_link(page, server, firm)
    expect(page).to_have_url(f"{server}/firm")
    expect(page.locator("h1")).to_have_text("我的补贴")
    card = page.locator(f"#subsidy-{world.policy_id}")
    expect(card.locator(".amount")).to_have_text(re.compile(r"^[\d,]+\.\d\d$"))
    expect(card.locator(".plain-clause").first).to_contain_text("✓")  # why, in plain words
    expect(page.locator(".subsidy.other").first).to_be_attached()  # and why not, elsewhere

    card.locator("a.redeem").click()
    expect(page.locator("h1")).to_have_text("确认兑付")
    page.click("#confirm-redeem")
    expect(page).to_have_url(re.compile(r"/firm/redemptions/\d+\?done=redeemed$"))
    expect(page.locator("#status")).to_have_text("已审批，待支付")

    result = CliRunner().invoke(cli, ["payouts", "run", "--wait", "30"])
    assert result.exit_code == 0, result.output
    assert "every batch settled" in result.output

    page.reload()
    expect(page.locator("#status")).to_have_text("已支付")
    expect(page.locator("ol.steps li.done")).to_have_count(4)
    page.click("text=兑付进度")
    expect(page.locator(".redemption .status").first).to_have_text("已支付")


def test_an_officer_fixes_a_rule_at_its_line_previews_and_publishes(
    page: Page, server: str, world: World, portal_env: Engine
) -> None:
    from playwright.sync_api import expect

    policy_id = "hz-2020-high-tech-award"
    sign_in(page, server, token_for(Role.OFFICER, subject="li"))
    expect(page).to_have_url(f"{server}/officer/policies")
    page.click("text=草稿与编辑")
    page.select_option("#start", policy_id)
    page.click("#new-draft")
    expect(page).to_have_url(re.compile(r"/officer/drafts/\d+$"))
    expect(page.locator("#valid")).to_be_visible()

    text = page.input_value("#policy-text")
    line = _line_of(text, "eligibility:")
    broken = text.replace("high_tech", "hightech", 1)
    assert broken != text
    page.fill("#policy-text", broken)
    issue = page.locator("#issues li.issue").first
    expect(issue).to_contain_text(f"第 {line} 行")
    expect(issue).to_contain_text("hightech")

    fixed = _raise_budget(text)
    page.fill("#policy-text", fixed)
    expect(page.locator("#valid")).to_be_visible()

    page.click("#preview")
    expect(page.locator("#preview-qualified")).to_have_text(re.compile(r"^[\d,]+$"))
    expect(page.locator("#preview-total")).to_have_text(re.compile(r"^[\d,]+\.\d\d$"))
    expect(page.locator("svg.chart rect").first).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#publish")
    expect(page.locator("#published")).to_contain_text(f"已发布 {policy_id} 第 2 版")
    with Session(portal_env) as session:
        policy = session.get(Policy, policy_id)
        assert policy is not None
        assert (policy.latest_version, policy.state) == (2, "published")


def _line_of(text: str, prefix: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(prefix))


def _raise_budget(text: str) -> str:
    """The same document with a budget one yuan larger (so publishing makes version 2)."""

    def larger(found: re.Match[str]) -> str:
        return f"budget: {int(found.group(1)) + 1}"

    changed, count = re.subn(r"(?m)^budget: (\d+)$", larger, text)
    assert count == 1, text
    return changed


def test_closing_a_policy_takes_two_officers(
    page: Page, server: str, world: World, portal_env: Engine, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page.on("dialog", lambda dialog: dialog.accept())
    row = page.locator(f"#policy-{world.policy_id}")
    sign_in(page, server, token_for(Role.OFFICER, subject="alice"))
    page.goto(f"{server}/officer/policies")
    row.locator("summary", has_text="暂停或关闭").click()
    row.locator("input[name=reason]").fill("预算已用完，政策到期")
    row.locator("button", has_text="申请关闭").click()
    expect(page.locator(".notice")).to_contain_text("等待另一名专员复核")
    pending = page.locator("#requests tbody tr").first
    expect(pending).to_contain_text("预算已用完，政策到期")
    expect(pending).to_contain_text("您的申请，须由其他专员确认")
    expect(row.locator(".state")).to_have_text("已发布")
    page.goto(f"{server}/officer/policies?lang=en")  # the page as the lead looked at it
    page.screenshot(path=str(tmp_path / "pending-close.png"), full_page=True)

    page.click('form[action="/sign-out"] button')
    sign_in(page, server, token_for(Role.OFFICER, subject="bob"))
    page.goto(f"{server}/officer/policies")
    pending.locator("button", has_text="复核确认").click()
    expect(page.locator(".notice")).to_contain_text("已确认并执行")
    expect(row.locator(".state")).to_have_text("已关闭")
    with Session(portal_env) as session:
        closed = session.get(Policy, world.policy_id)
        assert closed is not None
        assert closed.state == "closed"


# --- plain words (issue 15): a firm's reasons by their labels, the editor's data and completion


def _shot(page: Page, request: pytest.FixtureRequest, name: str) -> None:
    folder = Path(os.environ.get("QINQING_SHOTS") or request.config.rootpath / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_a_firm_reads_its_reasons_in_plain_words(
    page: Page, server: str, world: World, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import expect

    firm = Principal(subject="demo-enterprise", role=Role.ENTERPRISE, uscc=world.firm)
    follow_sign_in_link(page, server, firm)
    card = page.locator(f"#subsidy-{world.policy_id}")
    first = card.locator(".plain-clause").first
    expect(first.locator(".ok")).to_have_text("✓")
    expect(card.locator(".plain-value", has_text="经营状态").first).to_have_text("经营状态: 存续")
    rule = first.locator("details.rule-details code")
    expect(rule).to_be_hidden()  # the rule only behind 详情
    first.locator("details.rule-details summary").click()
    expect(rule).to_be_visible()
    _shot(page, request, "firm-plain")


def test_the_editor_lists_the_data_and_completes_column_names(
    page: Page, server: str, world: World, portal_env: Engine, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import expect

    sign_in(page, server, token_for(Role.OFFICER, subject="li"))
    page.click("text=草稿与编辑")
    page.select_option("#start", "hz-2020-ui-refund")
    page.click("#new-draft")
    expect(page).to_have_url(re.compile(r"/officer/drafts/\d+$"))

    status = page.locator("#available-data tr[data-column=status]")
    expect(status).to_contain_text("经营状态")
    expect(status).to_contain_text("企业登记")
    expect(page.locator("#available-data tr[data-column=hire_date]")).to_contain_text("e.hire_date")

    area = page.locator("#policy-text")
    area.focus()
    area.evaluate("a => a.setSelectionRange(a.value.length, a.value.length)")
    page.keyboard.type("\n# ui_pr")
    completions = page.locator("#completions")
    expect(completions).to_be_visible()
    expect(completions.locator("li")).to_have_count(1)
    expect(completions).to_contain_text("上年失业保险费")
    _shot(page, request, "editor-completion")
    page.keyboard.press("Tab")
    expect(completions).to_be_hidden()
    assert area.input_value().endswith("\n# ui_premium")

    page.keyboard.type(" tax_")  # tax_rating, then tax_paid
    expect(completions.locator("li")).to_have_count(2)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert area.input_value().endswith("# ui_premium tax_paid")

    page.keyboard.type(" e.hire")  # after a dot: the employee's columns
    expect(completions.locator("li")).to_have_count(1)
    page.keyboard.press("Enter")
    assert area.input_value().endswith(" e.hire_date")

    page.keyboard.type(" in")  # a keyword of the rule language: nothing offered
    expect(completions).to_be_hidden()
    page.keyboard.type(" sta")
    expect(completions).to_be_visible()
    page.keyboard.press("Escape")
    expect(completions).to_be_hidden()
    page.keyboard.press("Enter")  # a closed list leaves Enter to the textarea
    assert area.input_value().endswith(" sta\n")
    _shot(page, request, "editor-data")
