"""In the browser (Debian's Chromium through Playwright, as test_browser.py): the officer's tables
fit a 1280 px screen, and a paid redemption's receipt prints on one page without the portal's
header or buttons. Skips without Chromium, fails under CI=true, like the other journeys."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from subsidy.auth import Principal, Role
from subsidy.cli import app as cli
from tests.portal.conftest import token_for
from tests.portal.test_browser import (  # the journeys' browser, server and page fixtures
    browser,  # noqa: F401
    follow_sign_in_link,
    page,  # noqa: F401
    server,  # noqa: F401
    sign_in,
)
from tests.portal.world import World

if TYPE_CHECKING:
    from playwright.sync_api import Page, ViewportSize

SCREEN: ViewportSize = {"width": 1280, "height": 800}


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """Where the screenshots go to be looked at (test-artifacts/ is ignored by git)."""
    folder = request.config.rootpath / "test-artifacts" / "layout"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("path", ["/officer/policies", "/officer/drafts", "/review"])
def test_the_officer_pages_fit_1280_px(
    page: Page,  # noqa: F811
    server: str,  # noqa: F811
    world: World,
    path: str,
    artifacts: Path,
) -> None:
    from playwright.sync_api import expect

    page.set_viewport_size(SCREEN)
    sign_in(page, server, token_for(Role.OFFICER, subject="li"))
    expect(page).to_have_url(f"{server}/officer/policies")
    page.goto(f"{server}{path}")
    page.screenshot(path=str(artifacts / f"{path.strip('/').replace('/', '-')}-1280.png"))
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= SCREEN["width"], f"{path} is {wide} px wide"
    for table in page.locator("main table").all():  # no table pokes out of the page either
        box = table.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= SCREEN["width"], f"{path}: a table ends past 1280 px"


def test_a_paid_redemptions_receipt_prints_on_one_page(
    page: Page,  # noqa: F811
    server: str,  # noqa: F811
    world: World,
    portal_env: Engine,
    artifacts: Path,
) -> None:
    from playwright.sync_api import expect

    page.set_viewport_size(SCREEN)
    firm = Principal(subject="demo-enterprise", role=Role.ENTERPRISE, uscc=world.firm)
    follow_sign_in_link(page, server, firm)
    page.goto(f"{server}/firm/subsidies/{world.policy_id}/redeem")
    page.click("#confirm-redeem")
    expect(page.locator("#redeemed-notice")).to_contain_text("已提交兑付")
    result = CliRunner().invoke(cli, ["payouts", "run", "--wait", "30"])
    assert result.exit_code == 0, result.output
    page.reload()
    expect(page.locator("#status")).to_have_text("已支付")
    expect(page.locator("#bank-reference")).not_to_be_empty()

    page.screenshot(path=str(artifacts / "redemption-paid.png"), full_page=True)
    redemption_page = page.url.partition("?")[0]

    page.goto(f"{server}/firm/subsidies/{world.policy_id}/redeem")  # reopened once paid
    expect(page.locator("#already-redeemed")).to_contain_text("已支付")
    expect(page.locator("#confirm-redeem")).to_have_count(0)
    page.screenshot(path=str(artifacts / "redeem-again.png"), full_page=True)
    page.click("#see-redemption")
    expect(page).to_have_url(redemption_page)
    page.click("#open-receipt")
    expect(page).to_have_url(re.compile(r"/redemptions/\d+/receipt$"))
    expect(page.locator("#receipt-capitals")).to_have_text(re.compile(r"^人民币.+(整|分)$"))
    expect(page.locator("#receipt-verification")).to_have_text(re.compile(r"^A\d{6}-[0-9a-f]{16}$"))
    expect(page.locator("body > header")).to_be_visible()
    page.screenshot(path=str(artifacts / "receipt.png"), full_page=True)

    page.emulate_media(media="print")
    expect(page.locator("body > header")).to_be_hidden()
    expect(page.locator("#print-receipt")).to_be_hidden()
    expect(page.locator("#receipt")).to_be_visible()
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    (artifacts / "receipt.pdf").write_bytes(pdf)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1, "the receipt prints on one page"
