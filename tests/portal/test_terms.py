"""What the pages call things: policy titles and summaries, states and banks in the reader's
language (Chinese by default, English with ?lang=en), never a raw code such as `paid` or `ZJRCU`."""

from __future__ import annotations

import html
import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from typer.testing import CliRunner

from payouts.banks import BANKS
from payouts.models import PayoutBatch
from policies.document import Localized, load_path
from subsidy import i18n
from subsidy.auth import Role
from subsidy.cli import app as cli
from tests.portal.test_pages import sign_in
from tests.portal.world import World

EXAMPLES = sorted((Path(__file__).parents[2] / "policies" / "examples").glob("*.yaml"))
TITLES = {d.id: d.title for d in map(load_path, EXAMPLES) if isinstance(d.title, Localized)}
RAW_STATES = re.compile(r"\b(open|done|pending|submitted|paid|failed|returned|published)\b")
RAW_BANKS = re.compile(r"\b(" + "|".join(BANKS) + r")\b")


def words(page: str) -> str:
    """The text a reader sees: no tags, attributes, scripts or entities."""
    body = page.split("<main", 1)[-1]
    return html.unescape(re.sub(r"<[^>]*>", " ", body))


def pay_everything() -> None:
    result = CliRunner().invoke(cli, ["payouts", "run", "--wait", "30"])
    assert result.exit_code == 0, result.output


def test_a_firm_reads_its_policies_in_chinese_and_with_lang_en_in_english(
    client: TestClient, world: World
) -> None:
    sign_in(client, Role.ENTERPRISE, world.firm)
    title = TITLES[world.policy_id]
    assert title.en
    chinese = client.get("/firm").text
    card = chinese.split(f'id="subsidy-{world.policy_id}"', 1)[1].split("</section>", 1)[0]
    assert f"<h3>{title.zh}</h3>" in card
    summary = load_path(next(p for p in EXAMPLES if p.stem == world.policy_id)).summaries
    assert summary is not None
    assert summary.get("zh") in html.unescape(card)
    assert title.en not in chinese
    english = client.get("/firm?lang=en").text
    card = english.split(f'id="subsidy-{world.policy_id}"', 1)[1].split("</section>", 1)[0]
    assert f"<h3>{html.escape(title.en)}</h3>" in card
    assert summary.get("en") in html.unescape(card)
    assert title.zh not in english
    confirm = client.get(f"/firm/subsidies/{world.policy_id}/redeem").text
    assert title.zh in confirm


def test_finance_reads_batch_and_item_states_and_banks_by_name(
    client: TestClient, world: World, portal_env: Engine
) -> None:
    pay_everything()  # the automatic grants of the world's match
    with Session(portal_env) as session:
        batches = session.execute(select(PayoutBatch).order_by(col(PayoutBatch.id))).scalars()
        codes = {b.bank_code for b in batches}
    assert codes, "the world's automatic grants make payout batches"
    sign_in(client, Role.FINANCE)
    chinese = words(client.get("/finance/batches").text)
    english = words(client.get("/finance/batches?lang=en").text)
    for code in codes:
        assert i18n.bank("zh", code) in chinese
        assert i18n.bank("en", code) in english  # "China CITIC Bank" names its code: no check
    assert "已完成" in chinese
    assert "已支付" in chinese
    assert not RAW_STATES.findall(chinese), RAW_STATES.findall(chinese)
    assert not RAW_BANKS.findall(chinese), RAW_BANKS.findall(chinese)
    assert "done" in english
    batch = words(client.get("/finance/batches/1").text)
    assert "已支付" in batch
    assert not RAW_STATES.findall(batch), RAW_STATES.findall(batch)
    assert not RAW_BANKS.findall(batch), RAW_BANKS.findall(batch)


def test_a_paid_redemption_reads_paid_in_chinese(
    client: TestClient, world: World, portal_env: Engine
) -> None:
    csrf = sign_in(client, Role.ENTERPRISE, world.firm)
    confirm = client.get(f"/firm/subsidies/{world.policy_id}/redeem").text
    key = re.search(r'name="key" value="(\w+)"', confirm)
    assert key
    done = client.post(
        f"/firm/subsidies/{world.policy_id}/redeem", data={"csrf": csrf, "key": key.group(1)}
    )
    assert done.status_code == 200
    pay_everything()
    mine = words(client.get("/firm/redemptions").text)
    assert "已支付" in mine
    assert TITLES[world.policy_id].zh in mine
    assert not RAW_STATES.findall(mine), RAW_STATES.findall(mine)
    assert "Paid" in words(client.get("/firm/redemptions?lang=en").text)


def test_officers_read_titles_and_states_in_their_language(
    client: TestClient, world: World
) -> None:
    sign_in(client, Role.OFFICER)
    chinese = words(client.get("/officer/policies").text)
    english = words(client.get("/officer/policies?lang=en").text)
    for title in TITLES.values():
        assert title.zh in chinese
        assert title.en
        assert title.en in english
        assert title.en not in chinese
    assert "已发布" in chinese
    assert not RAW_STATES.findall(chinese), RAW_STATES.findall(chinese)
    assert "published" in english
    sign_in(client, Role.FINANCE)
    reports = words(client.get("/finance/reports").text)
    assert TITLES["hz-2020-ui-refund"].zh in reports
