"""A firm reads its reasons in plain words: a labelled policy's clauses by their labels with
the values read under their column labels (经营状态: 存续), the rule text only behind 详情; an
unlabelled policy as before (issue 15, Deliver 4)."""

from __future__ import annotations

import hashlib
import html
import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from matching import service as matching_service
from policies import service as policy_service
from policies.document import load_document
from subsidy import db
from subsidy.auth import Role
from subsidy.registry.catalog import Catalog, Source, SourceKey, canonical_json, to_content
from subsidy.registry.models import RegistryDeclaration
from subsidy.registry.schema import Column, Kind
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


def _declare_demo_sources(engine: Engine) -> None:
    """The demo's two sources as a stored declaration (what `qinqing registry declare` writes)."""
    rd = Column("rd_expense", Kind.MONEY, True, source="tax", label_zh="研发费用", label_en="R&D")
    months = Column(
        "months_insured_2019",
        Kind.INTEGER,
        source="social-insurance",
        label_zh="2019年参保月数",
        label_en="Months insured in 2019",
    )
    declared = Catalog(
        1,
        (
            Source("tax", "Hangzhou Municipal Tax Service", SourceKey.USCC, (rd,)),
            Source("social-insurance", "Hangzhou HRSS", SourceKey.PERSON_ID, (months,)),
        ),
    )
    content = canonical_json(to_content(declared))
    with db.session_scope(engine) as session:
        session.add(
            RegistryDeclaration(
                version=1,
                document="sources: ...",
                content=content,
                content_hash=hashlib.sha256(content.encode()).hexdigest(),
                declared_by="officer:li",
            )
        )


def test_the_editor_lists_every_column_with_label_type_source_and_department(
    client: TestClient, portal_env: Engine
) -> None:
    _declare_demo_sources(portal_env)
    csrf = sign_in(client, Role.OFFICER)
    created = client.post("/officer/drafts", data={"csrf": csrf}, follow_redirects=True)
    assert created.status_code == 200, created.text
    page = html.unescape(created.text)
    panel = page[page.index('id="data-panel"') :]
    rows = {m[0]: m[1] for m in re.findall(r'<tr data-column="(\w+)"(.*?)</tr>', panel, re.S)}
    assert 'data-label="经营状态"' in rows["status"]
    assert "选项: active, suspended, deregistered" in rows["status"]
    assert "企业登记" in rows["status"]
    assert "杭州市市场监督管理局" in rows["status"]
    assert "<code>e.hire_date</code>" in rows["hire_date"]
    assert "员工登记" in rows["hire_date"]
    for expected in ("研发费用", "金额（元）", "<td>tax</td>", "Hangzhou Municipal Tax Service"):
        assert expected in rows["rd_expense"]
    assert "<code>e.months_insured_2019</code>" in rows["months_insured_2019"]
    assert "整数" in rows["months_insured_2019"]
    assert 'data-complete="#available-data"' in page
    english = html.unescape(client.get(created.url.path + "?lang=en").text)
    assert 'data-label="Status"' in english
    assert "Enterprise registry" in english
