"""Issue 15's journey, through the officer API, the command line and the firm's page: an officer
declares a tax and a social-insurance source, imports their files, publishes "R&D expense at
least 3% of revenue" and a policy counting employees insured at least 6 months, and a firm reads
its reasons in plain Chinese. A bad declaration and a bad source file are refused, naming the
field or the row, and change nothing."""

from __future__ import annotations

import html
import re
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from matching import service as matching_service
from matching.models import MatchRun, Qualification
from subsidy import db
from subsidy.auth import Role
from subsidy.registry import demo, demo_sources
from subsidy.registry import service as registry_service
from subsidy.registry.models import RegistryDeclaration, RegistrySnapshot, SourceRow
from tests.commands import qinqing, wide_terminal  # noqa: F401 (an autouse fixture)
from tests.portal.conftest import token_for
from tests.portal.test_pages import sign_in
from tests.portal.world import AS_OF

EXAMPLES = Path(__file__).parents[2] / "policies" / "examples" / "sources"
RD_POLICY = "hz-2020-rd-intensity-award"
STAFF_POLICY = "hz-2020-stable-employment-award"
DECLARATION = demo_sources.DECLARATION.read_text(encoding="utf-8")


def officer() -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(Role.OFFICER, subject='li.wei')}"}


def state(engine: Engine) -> tuple[int, int, int]:
    """Declarations, source rows, source snapshots: what a refusal must leave as it was."""
    sources = [demo_sources.TAX, demo_sources.SOCIAL_INSURANCE]
    with Session(engine) as session:
        declared = session.scalar(select(func.count()).select_from(RegistryDeclaration))
        rows = session.scalar(select(func.count()).select_from(SourceRow))
        snapshots = session.scalar(
            select(func.count())
            .select_from(RegistrySnapshot)
            .where(col(RegistrySnapshot.registry_name).in_(sources))
        )
    return int(declared or 0), int(rows or 0), int(snapshots or 0)


@pytest.fixture
def registry(portal_env: Engine, data_dir: Path, tmp_path: Path) -> dict[str, pl.DataFrame]:
    """The demo registry imported (no policies yet); the files its two sources would send."""
    enterprises, employees = demo.generate(200, seed=3)
    paths = demo.write(enterprises, employees, tmp_path / "registry", "parquet")
    with db.session_scope(portal_env) as session:
        registry_service.import_registry(session, *paths, data_dir=data_dir)
    return demo_sources.generate(enterprises, employees, seed=3)


def publish(client: TestClient, path: Path) -> None:
    saved = client.post(
        "/api/v1/policy-drafts",
        content=path.read_text(encoding="utf-8"),
        headers=officer() | {"Content-Type": "application/yaml"},
    )
    assert saved.status_code == 201, saved.text
    published = client.post(
        f"/api/v1/policy-drafts/{saved.json()['id']}/publish", headers=officer()
    )
    assert published.status_code == 201, published.text


def test_a_bad_declaration_is_refused_naming_the_field_and_nothing_is_declared(
    client: TestClient, registry: dict[str, pl.DataFrame], portal_env: Engine
) -> None:
    bad = DECLARATION.replace("type: integer", "type: number")
    refused = client.post(
        "/api/v1/registry/declarations",
        json={"document": "sources.yaml", "text": bad},
        headers=officer(),
    )
    assert refused.status_code == 422, refused.text
    assert "sources[1].columns.months_insured_2019.type" in refused.text
    assert "number" in refused.text
    assert state(portal_env) == (0, 0, 0)


def test_a_bad_source_file_is_refused_naming_the_row_and_nothing_changes(
    client: TestClient, registry: dict[str, pl.DataFrame], portal_env: Engine, tmp_path: Path
) -> None:
    declared = client.post(
        "/api/v1/registry/declarations", json={"text": DECLARATION}, headers=officer()
    )
    assert declared.status_code == 201, declared.text
    good = tmp_path / "insured.csv"
    registry[demo_sources.SOCIAL_INSURANCE].write_csv(good)
    assert qinqing("import", "source", demo_sources.SOCIAL_INSURANCE, good)[0] == 0
    before = state(portal_env)
    rows = good.read_text(encoding="utf-8").splitlines()
    person = rows[3].split(",")[0]
    rows[3] = f"{person},six"  # row 4 of the file, the header being row 1
    bad = tmp_path / "insured-bad.csv"
    bad.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, output = qinqing("import", "source", demo_sources.SOCIAL_INSURANCE, bad)
    assert code == 1, output
    assert re.search(r"row 4\b.*months_insured_2019.*six", output), output
    assert state(portal_env) == before


def test_an_officer_declares_imports_and_publishes_and_a_firm_reads_plain_chinese(
    client: TestClient,
    registry: dict[str, pl.DataFrame],
    portal_env: Engine,
    data_dir: Path,
    tmp_path: Path,
) -> None:
    declared = client.post(
        "/api/v1/registry/declarations",
        json={"document": "sources.yaml", "text": DECLARATION},
        headers=officer(),
    )
    assert declared.status_code == 201, declared.text
    tax, insured = tmp_path / "tax.xlsx", tmp_path / "insured.parquet"
    demo.write_frame(registry[demo_sources.TAX], tax)
    demo.write_frame(registry[demo_sources.SOCIAL_INSURANCE], insured)
    for name, path in ((demo_sources.TAX, tax), (demo_sources.SOCIAL_INSURANCE, insured)):
        code, output = qinqing("import", "source", name, path)
        assert code == 0, output
    publish(client, EXAMPLES / f"{RD_POLICY}.yaml")
    publish(client, EXAMPLES / f"{STAFF_POLICY}.yaml")
    with db.session_scope(portal_env) as session:
        matching_service.run_match(session, data_dir, as_of=AS_OF)
    with Session(portal_env) as session:
        qualified = dict(
            session.execute(
                select(col(Qualification.policy_id), func.min(col(Qualification.uscc))).group_by(
                    col(Qualification.policy_id)
                )
            ).all()
        )
        recorded = session.scalars(select(col(MatchRun.source_snapshots))).all()
    assert {RD_POLICY, STAFF_POLICY} <= qualified.keys(), "the demo has firms for both"
    assert all(demo_sources.TAX in str(r) for r in recorded), "each run names its sources"

    tax_rows = registry[demo_sources.TAX].filter(pl.col("uscc") == qualified[RD_POLICY])
    spent = tax_rows["rd_expense"].item()
    sign_in(client, Role.ENTERPRISE, qualified[RD_POLICY])
    page = html.unescape(client.get("/firm").text)
    card = page[page.index(f'id="subsidy-{RD_POLICY}"') :]
    clause = re.search(
        r'<li class="plain-clause">((?:(?!</li>).)*3%(?:(?!</li>).)*)</li>', card, re.S
    )
    assert clause, card[:2000]
    markup, _, details = clause.group(1).partition("<details")
    shown = " ".join(re.sub(r"<[^>]+>", " ", markup).split())  # the words a reader sees
    assert "上年研发费用不低于营业收入的3%" in shown  # the clause's label
    assert f"研发费用: ¥{spent:,.2f}" in shown  # the value read, under the column's label
    assert "rd_expense" not in shown  # no rule code outside the toggle
    assert "min_rd_share" in details  # the rule text, behind it
    assert "经营状态: 存续" in " ".join(re.sub(r"<[^>]+>", " ", card).split())
