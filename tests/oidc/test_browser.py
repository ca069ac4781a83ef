"""A firm and an officer sign in through the real OpenID provider in a real browser (Debian's
Chromium driven by Playwright, as tests/portal/test_browser.py), and sign out of both the portal
and the provider. The portal is served on 127.0.0.1 and the provider on localhost: two sites,
so the SameSite rules of the cookies are those of a real deployment.

They skip without /usr/bin/chromium or playwright, except under CI=true, where they fail.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
import uvicorn

from subsidy.app import create_app
from tests.oidc.conftest import OpenIdProvider
from tests.portal.test_browser import TIMEOUT_MS, browser  # noqa: F401  (the fixture)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page


@pytest.fixture
def portal(oidc_settings: OpenIdProvider, registered: list[str]) -> Iterator[str]:
    """The portal on the address whose callback the provider has registered."""
    address = urlsplit(oidc_settings.browser_portal)
    config = uvicorn.Config(
        create_app(), host=address.hostname or "", port=address.port or 0, log_level="warning"
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not running.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the portal did not start")
        time.sleep(0.05)
    yield oidc_settings.browser_portal
    running.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:  # noqa: F811
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    refused: list[str] = []

    def csp_refusals(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text and "localhost" not in opened.url:
            refused.append(message.text)

    opened.on("console", csp_refusals)
    yield opened
    assert not refused, refused
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        folder = Path(request.config.rootpath) / "test-artifacts" / "oidc"
        folder.mkdir(parents=True, exist_ok=True)
        opened.screenshot(path=str(folder / f"{request.node.name}.png"), full_page=True)
    context.close()


def through_the_provider(page: Page, portal: str, account: str) -> None:
    """From the portal's sign-in page to the provider's login form and back."""
    from playwright.sync_api import expect

    page.goto(f"{portal}/sign-in")
    page.click("#sign-in-with-provider")
    expect(page).to_have_url(re.compile(r"^http://localhost:\d+/interaction/"))
    page.fill("input[name=login]", account)
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")


def signs_out_of_both(page: Page, portal: str, home: str) -> None:
    from playwright.sync_api import expect

    page.click("header form button")  # the portal's "退出"
    page.wait_for_url(re.compile(r"^http://localhost:\d+/session/end"))
    page.click("#confirm-logout")  # the provider's own sign-out
    expect(page).to_have_url(re.compile(f"^{re.escape(portal)}/sign-in"))
    expect(page.locator("#sign-in-with-provider")).to_be_visible()
    page.goto(f"{portal}{home}")
    expect(page).to_have_url(f"{portal}/sign-in")  # the portal's session is closed
    page.click("#sign-in-with-provider")  # and so is the provider's: it asks again
    expect(page.locator("input[name=login]")).to_be_visible()


def test_a_firm_signs_in_through_the_provider_and_out_again(page: Page, portal: str) -> None:
    from playwright.sync_api import expect

    through_the_provider(page, portal, "firm")
    expect(page).to_have_url(f"{portal}/firm")
    expect(page.locator("h1")).to_have_text("我的补贴")
    expect(page.locator("#who")).to_contain_text("企业")
    signs_out_of_both(page, portal, "/firm")


def test_an_officer_signs_in_through_the_provider_and_out_again(page: Page, portal: str) -> None:
    from playwright.sync_api import expect

    through_the_provider(page, portal, "li")
    expect(page).to_have_url(f"{portal}/officer/policies")
    expect(page.locator("#who")).to_contain_text("li")
    signs_out_of_both(page, portal, "/officer/policies")
