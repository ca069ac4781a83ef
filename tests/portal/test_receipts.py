"""A firm's redemption from the click to its receipt (issue 14, points 6 and 9): the header names
the firm, a notice follows the confirmation, a redeemed or paid subsidy offers no new
confirmation, a paid redemption shows its payment and prints its receipt (兑付凭证) only for the
firm itself and finance or auditors, times in Beijing time, counts with thousands separators."""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal
from types import SimpleNamespace

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from payouts.models import PayoutItem
from policies.models import Policy
from subsidy import db
from subsidy.audit.models import AuditEntry
from subsidy.auth import Principal, Role
from subsidy.capitals import in_capitals
from subsidy.cli import app as cli
from subsidy.redemption.models import Redemption
from subsidy.registry.models import Enterprise
from subsidy.web import i18n
from subsidy.web.paging import Pager
from subsidy.web.templating import templates
from subsidy.web.views import Funnel, Stage
from tests.portal.conftest import token_for
from tests.portal.test_pages import sign_in
from tests.portal.world import World


def redeem(client: TestClient, csrf: str, policy_id: str) -> str:
    """Confirm a one-click subsidy as the page offers it; the page the browser lands on."""
    confirm = client.get(f"/firm/subsidies/{policy_id}/redeem").text
    key = re.search(r'name="key" value="(\w+)"', confirm)
    assert key, confirm
    done = client.post(
        f"/firm/subsidies/{policy_id}/redeem",
        data={"csrf": csrf, "key": key.group(1)},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    return str(done.headers["location"])


def pay_everything() -> None:
    result = CliRunner().invoke(cli, ["payouts", "run", "--wait", "30"])
    assert result.exit_code == 0, result.output


def firm(engine: Engine, uscc: str) -> Enterprise:
    with Session(engine) as session:
        found = session.get(Enterprise, uscc)
        assert found is not None
        assert found.bank_account
        return found


def text_of(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', page, re.S)
    assert found, f"no #{element_id}"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def test_the_header_names_the_firm_by_its_name(
    client: TestClient, world: World, portal_env: Engine
) -> None:
    sign_in(client, Role.ENTERPRISE, world.firm)
    who = text_of(client.get("/firm").text, "who")
    assert firm(portal_env, world.firm).name in who
    assert world.firm not in who


def test_a_notice_follows_the_confirmation_and_no_second_one_is_offered(
    client: TestClient, world: World
) -> None:
    csrf = sign_in(client, Role.ENTERPRISE, world.firm)
    landed = redeem(client, csrf, world.policy_id)
    assert landed.endswith("?done=redeemed")
    page = client.get(landed).text
    assert "已提交兑付 #" in text_of(page, "redeemed-notice")
    assert "redeemed-notice" not in client.get(landed.partition("?")[0]).text  # only once

    again = client.get(f"/firm/subsidies/{world.policy_id}/redeem")
    assert again.status_code == 200
    assert 'id="confirm-redeem"' not in again.text
    assert 'name="key"' not in again.text
    assert "您已兑付" in again.text
    assert f'href="{landed.partition("?")[0]}"' in again.text


def test_a_paid_redemption_shows_its_payment_and_prints_its_receipt(
    client: TestClient, world: World, portal_env: Engine
) -> None:
    csrf = sign_in(client, Role.ENTERPRISE, world.firm)
    page_path = redeem(client, csrf, world.policy_id).partition("?")[0]
    redemption_id = int(page_path.rsplit("/", 1)[1])
    assert client.get(f"/redemptions/{redemption_id}/receipt").status_code == 409  # not paid
    pay_everything()

    with Session(portal_env) as session:
        item = session.exec(
            select(PayoutItem).where(PayoutItem.redemption_id == redemption_id)
        ).one()
        entry = session.exec(
            select(AuditEntry).where(
                AuditEntry.action == "payout.pay",
                AuditEntry.subject == f"redemption:{redemption_id}",
            )
        ).one()
        policy = session.get(Policy, world.policy_id)
        assert policy is not None
        assert item.bank_reference
        assert item.paid_on
    account = firm(portal_env, world.firm).bank_account
    assert account is not None

    page = client.get(page_path).text
    assert text_of(page, "status") == "已支付"
    assert text_of(page, "paid-on") == item.paid_on.isoformat()
    assert text_of(page, "bank-reference") == item.bank_reference
    assert text_of(page, "account") == "*" * (len(account) - 4) + account[-4:]
    assert account not in page

    again = client.get(f"/firm/subsidies/{world.policy_id}/redeem").text  # paid: no new click
    assert 'id="confirm-redeem"' not in again
    assert "已支付" in again

    receipt = client.get(f"/redemptions/{redemption_id}/receipt")
    assert receipt.status_code == 200
    shown = receipt.text
    assert text_of(shown, "receipt-firm") == firm(portal_env, world.firm).name
    assert text_of(shown, "receipt-uscc") == world.firm
    assert policy.title in text_of(shown, "receipt-policy")
    assert text_of(shown, "receipt-amount") == f"¥{item.amount:,.2f}"
    capitals = text_of(shown, "receipt-capitals")
    assert capitals == in_capitals(item.amount)
    assert capitals.startswith("人民币")
    assert capitals.endswith(("整", "分"))
    assert text_of(shown, "receipt-paid-on") == item.paid_on.isoformat()
    assert text_of(shown, "receipt-bank-reference") == item.bank_reference
    assert text_of(shown, "receipt-account").endswith(account[-4:])
    assert account not in shown
    assert text_of(shown, "receipt-redemption") == str(redemption_id)
    assert text_of(shown, "receipt-verification") == f"A{entry.id:06d}-{entry.hash[:16]}"
    assert '<link rel="stylesheet" href="/static/receipt.css">' in shown
    assert "@media print" in client.get("/static/receipt.css").text

    api = client.get(
        f"/api/v1/redemptions/{redemption_id}/receipt",
        headers={"Authorization": f"Bearer {token_for(Role.ENTERPRISE, world.firm)}"},
    )
    assert api.status_code == 200, api.text
    body = api.json()
    assert body["amount_in_capitals"] == capitals
    assert Decimal(body["amount"]) == item.amount
    assert body["account"].endswith(account[-4:])
    assert account not in api.text
    assert body["verification"] == text_of(shown, "receipt-verification")


def test_only_the_firm_finance_and_auditors_read_a_receipt(
    client: TestClient, world: World
) -> None:
    csrf = sign_in(client, Role.ENTERPRISE, world.firm)
    redemption_id = int(redeem(client, csrf, world.policy_id).partition("?")[0].rsplit("/", 1)[1])
    pay_everything()
    path, api = (
        f"/redemptions/{redemption_id}/receipt",
        f"/api/v1/redemptions/{redemption_id}/receipt",
    )
    assert client.get(path).status_code == 200

    expected = {
        (Role.ENTERPRISE, world.other_firm): 404,  # another firm's: not found, as everywhere
        (Role.OFFICER, None): 403,
        (Role.FINANCE, None): 200,
        (Role.AUDITOR, None): 200,
    }
    for (role, uscc), status in expected.items():
        client.cookies.clear()
        sign_in(client, role, uscc)
        assert client.get(path).status_code == status, role
        bearer = {"Authorization": f"Bearer {token_for(role, uscc)}"}
        assert client.get(api, headers=bearer).status_code == status, role


def test_times_are_shown_in_beijing_time(
    client: TestClient, world: World, portal_env: Engine
) -> None:
    csrf = sign_in(client, Role.ENTERPRISE, world.firm)
    page_path = redeem(client, csrf, world.policy_id).partition("?")[0]
    redemption_id = int(page_path.rsplit("/", 1)[1])
    with db.session_scope(portal_env) as session:
        found = session.get(Redemption, redemption_id)
        assert found is not None
        found.created_at = dt.datetime(2020, 6, 30, 16, 30, tzinfo=dt.UTC)
    page = client.get(page_path).text
    assert "2020-07-01 00:30" in page
    assert "2020-06-30 16:30" not in page
    answer = client.get(
        f"/api/v1/redemptions/{redemption_id}",
        headers={"Authorization": f"Bearer {token_for(Role.ENTERPRISE, world.firm)}"},
    ).json()
    assert dt.datetime.fromisoformat(answer["created_at"]) == found.created_at  # the API: UTC


def test_counts_carry_thousands_separators() -> None:
    assert templates.env.from_string("{{ 1144 | count }} {{ 1234567 | count }}").render() == (
        "1,144 1,234,567"
    )
    words = i18n.Translator("zh")
    funnel = Funnel(qualified=Stage(1144, Decimal("572000.00")))
    page = templates.env.get_template("officer_policies.html").render(
        t=words.t,
        lang="zh",
        me=Principal(subject="a", role=Role.AUDITOR),
        nav=[],
        path="/officer/policies",
        csrf="",
        policies=[
            SimpleNamespace(
                id="p", title="T", title_in=lambda _lang: "T", state="published", latest_version=1
            )
        ],
        funnels={"p": funnel},
        requests=[],
        person=str,
        done=None,
        pager=Pager(page=1, size=50, total=1, path="/officer/policies", query=()),
    )
    assert "1,144 企业" in page
