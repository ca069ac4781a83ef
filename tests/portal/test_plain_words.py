"""A firm reads its reasons in plain words: a labelled policy's clauses by their labels with
the values read under their column labels (经营状态: 存续), the rule text only behind 详情; an
unlabelled policy as before (issue 15, Deliver 4)."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from matching import service as matching_service
from policies import service as policy_service
from policies.document import load_document
from subsidy import db
from subsidy.auth import Role
from tests.portal.test_pages import sign_in
from tests.portal.world import EXAMPLES, World


def _section(page: str, element_id: str) -> str:
    start = page.index(f'id="{element_id}"')
    return page[start : page.index("</section>", start)]


def _publish_unlabelled(engine: Engine) -> None:
    text = (EXAMPLES / "hz-2020-ui-refund.yaml").read_text(encoding="utf-8")
    text = text.replace("id: hz-2020-ui-refund", "id: hz-2020-ui-refund-unlabelled")
    text = re.sub(r"^clauses:.*?(?=^amount:)", "", text, flags=re.DOTALL | re.MULTILINE)
    document = load_document(text, "unlabelled.yaml")
    assert document.clauses is None
    checks = [matching_service.compile_issues]
    approved = policy_service.approve(document, "unlabelled.yaml", checks)
    with db.session_scope(engine) as session:
        policy_service.publish(session, approved, by="officer")


def test_a_labelled_policy_reads_in_plain_words(client: TestClient, world: World) -> None:
    sign_in(client, Role.ENTERPRISE, world.firm)
    page = client.get("/firm").text
    card = html.unescape(_section(page, f"subsidy-{world.policy_id}"))
    assert '✓</span>\n    <span class="clause-label">企业处于存续状态</span>' in card
    assert "经营状态:</span> 存续" in card
    assert "列入失信名单:</span> 否" in card
    # the rule text is there, but only inside the details toggle
    details = card[card.index('<details class="rule-details">') :]
    assert "<summary>详情</summary>" in details
    assert "status == 'active'" in details
    before = card[: card.index('<details class="rule-details">')]
    assert "status == 'active'" not in before
    assert "满足" not in card


def test_the_labels_follow_the_page_language(client: TestClient, world: World) -> None:
    sign_in(client, Role.ENTERPRISE, world.firm)
    card = html.unescape(_section(client.get("/firm?lang=en").text, f"subsidy-{world.policy_id}"))
    assert '<span class="clause-label">The firm is active</span>' in card
    assert "Status:</span> active" in card
    assert "<summary>Details</summary>" in card


def test_money_reads_as_money_and_a_failed_clause_is_crossed(
    client: TestClient, world: World
) -> None:
    sign_in(client, Role.ENTERPRISE, world.firm)
    page = html.unescape(client.get("/firm").text)
    assert re.search(r"上年失业保险费:</span> (¥[\d,]+\.\d\d|无数据)", page)
    assert '<span class="bad">✗</span>' in page  # some policy the firm does not qualify for


def test_an_unlabelled_policy_shows_its_rule_as_before(
    client: TestClient, world: World, portal_env: Engine
) -> None:
    _publish_unlabelled(portal_env)
    sign_in(client, Role.ENTERPRISE, world.firm)
    card = html.unescape(_section(client.get("/firm").text, "other-hz-2020-ui-refund-unlabelled"))
    assert "clause-label" not in card
    assert "rule-details" not in card
    assert "<code>status == 'active'</code>" in card
    assert "读取的数据: status = " in card
