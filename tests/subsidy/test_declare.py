"""Declaring sources: versions, audit, unchanged re-declarations, the columns published policies
read kept from under them; the command and the officer API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from policies.columns import columns_read_by_published, rule_words
from policies.models import Policy, PolicyState, PolicyVersion
from subsidy.audit.models import AuditEntry
from subsidy.auth import Role
from subsidy.declare import service
from subsidy.declare.errors import ConcurrentDeclaration
from subsidy.registry import catalog as catalogs
from subsidy.registry.demo_sources import DECLARATION
from subsidy.registry.errors import DeclarationError
from subsidy.registry.models import RegistryDeclaration
from tests.apps import app_for_this_test
from tests.commands import qinqing, wide_terminal  # noqa: F401 (an autouse fixture)
from tests.subsidy.test_api import demo_uscc, token

DEMO = DECLARATION.read_text(encoding="utf-8")
EXAMPLES = Path(__file__).parents[2] / "policies" / "examples" / "sources"
RD_POLICY = EXAMPLES / "hz-2020-rd-intensity-award.yaml"
EMPLOYMENT_POLICY = EXAMPLES / "hz-2020-stable-employment-award.yaml"
OFFICER = "officer:li.wei"
WITHOUT_TAX = DEMO[: DEMO.index("  - name: tax")] + DEMO[DEMO.index("  - name: social-insurance") :]
WITHOUT_MONEY_RD = DEMO.replace(
    "      rd_expense:\n        type: money", "      rd_expense:\n        type: integer"
)
WITHOUT_MONTHS = DEMO.replace("months_insured_2019:", "months_insured_2020:")


def declarations(engine: Engine) -> list[int]:
    with Session(engine) as session:
        query = select(col(RegistryDeclaration.version)).order_by(col(RegistryDeclaration.version))
        return list(session.execute(query).scalars())


def audited(engine: Engine, action: str = service.ACTION) -> list[AuditEntry]:
    with Session(engine) as session:
        query = select(AuditEntry).where(col(AuditEntry.action) == action)
        return list(session.execute(query.order_by(col(AuditEntry.id))).scalars())


def declare(engine: Engine, text: str, by: str = OFFICER) -> service.Declared:
    with Session(engine, expire_on_commit=False) as session:
        declared = service.declare(session, text, "d.yaml", by=by)
        session.commit()
        return declared


def published(engine: Engine, path: Path, state: PolicyState = PolicyState.PUBLISHED) -> str:
    """The example policy stored as published, without the checks of `policies.service.publish`:
    those read declared columns once the rule checker knows the catalog (the `rules` work of
    issue 15); what this module asks of a published policy is only its rules."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    policy_id = str(document["id"])
    with Session(engine) as session:
        session.add(Policy(id=policy_id, title=policy_id, title_en=policy_id, state=state))
        session.add(
            PolicyVersion(
                policy_id=policy_id,
                version=1,
                content_hash="0" * 64,
                document=json.dumps(document, default=str),
                published_by=OFFICER,
            )
        )
        session.query(Policy).filter(col(Policy.id) == policy_id).update({"latest_version": 1})
        session.commit()
    return policy_id


# --- the service -----------------------------------------------------------------------------


def test_a_declaration_is_version_one_audited_and_in_force(engine: Engine) -> None:
    declared = declare(engine, DEMO)
    assert declared.created
    assert declared.declaration.version == 1
    assert [s.name for s in declared.catalog.sources] == ["tax", "social-insurance"]
    (entry,) = audited(engine)
    assert (entry.actor, entry.subject) == (OFFICER, "registry-declaration:1")
    after = json.loads(entry.after)
    assert after["columns"] == ["rd_expense", "export_revenue", "months_insured_2019"]
    assert after["content_hash"] == declared.declaration.content_hash
    with Session(engine) as session:
        in_force = catalogs.current(session)
        stored = session.execute(select(RegistryDeclaration)).scalars().one()
    assert in_force == declared.catalog
    assert stored.document == DEMO  # the YAML as sent
    assert stored.declared_by == OFFICER


def test_declaring_the_same_sources_again_is_no_new_version(engine: Engine) -> None:
    declare(engine, DEMO)
    reformatted = "# the same, written otherwise\n" + DEMO.replace("key: uscc", "key: 'uscc'")
    again = declare(engine, reformatted)
    assert not again.created
    assert again.declaration.version == 1
    assert declarations(engine) == [1]
    assert len(audited(engine)) == 1


def test_each_change_is_the_next_version(engine: Engine) -> None:
    declare(engine, DEMO)
    changed = declare(engine, DEMO.replace("label: {zh: 出口收入", "label: {zh: 出口销售收入"))
    assert changed.created
    assert changed.declaration.version == 2
    retired = declare(engine, "sources: []\n")
    assert retired.declaration.version == 3
    assert declarations(engine) == [1, 2, 3]
    with Session(engine) as session:
        assert catalogs.current(session).sources == ()
    subjects = [e.subject for e in audited(engine)]
    assert subjects == [f"registry-declaration:{v}" for v in (1, 2, 3)]


def test_a_refused_declaration_writes_nothing(engine: Engine) -> None:
    declare(engine, DEMO)
    with pytest.raises(DeclarationError):
        declare(engine, DEMO.replace("type: integer", "type: number"))
    assert declarations(engine) == [1]
    assert len(audited(engine)) == 1


def test_published_policies_read_symbols_and_employee_attributes(engine: Engine) -> None:
    rd = published(engine, RD_POLICY)
    employment = published(engine, EMPLOYMENT_POLICY)
    with Session(engine) as session:
        readers = columns_read_by_published(session)
    assert readers["rd_expense"] == [rd]
    assert readers["months_insured_2019"] == [employment]
    assert readers["revenue"] == sorted([rd])
    assert "export_revenue" not in readers


def test_only_the_latest_version_of_a_published_policy_counts(engine: Engine) -> None:
    policy_id = published(engine, RD_POLICY)
    with Session(engine) as session:
        session.add(
            PolicyVersion(
                policy_id=policy_id,
                version=2,
                content_hash="1" * 64,
                document=json.dumps({"eligibility": "revenue > 0", "amount": "1000"}),
                published_by=OFFICER,
            )
        )
        session.query(Policy).filter(col(Policy.id) == policy_id).update({"latest_version": 2})
        session.commit()
        readers = columns_read_by_published(session)
    assert "rd_expense" not in readers
    assert readers["revenue"] == [policy_id]


def test_words_in_strings_are_not_reads() -> None:
    words = rule_words("name == 'rd_expense' and [e for e in employees if e.insured].length > 0")
    assert "rd_expense" not in words
    assert {"name", "employees", "insured"} <= words


@pytest.mark.parametrize(
    ("text", "code", "column"),
    [
        (WITHOUT_TAX, "declaration.removed_in_use", "rd_expense"),
        (WITHOUT_MONEY_RD, "declaration.retyped_in_use", "rd_expense"),
        (WITHOUT_MONTHS, "declaration.removed_in_use", "months_insured_2019"),
        ("sources: []\n", "declaration.removed_in_use", "rd_expense"),
    ],
)
def test_a_column_a_published_policy_reads_stays(
    engine: Engine, text: str, code: str, column: str
) -> None:
    declare(engine, DEMO)
    rd, employment = published(engine, RD_POLICY), published(engine, EMPLOYMENT_POLICY)
    with pytest.raises(DeclarationError) as refused:
        declare(engine, text)
    problems = {p.fields["name"]: p for p in refused.value.problems}
    assert problems[column].code == code
    reader = rd if column == "rd_expense" else employment
    assert problems[column].fields["policies"] == reader
    message = str(refused.value)
    assert f"column '{column}'" in message
    assert reader in message
    assert "close them or publish versions that no longer read it first" in message
    assert declarations(engine) == [1]
    assert len(audited(engine)) == 1


def test_a_retyped_column_is_named_with_both_types(engine: Engine) -> None:
    declare(engine, DEMO)
    published(engine, RD_POLICY)
    with pytest.raises(DeclarationError) as refused:
        declare(engine, WITHOUT_MONEY_RD)
    (problem,) = refused.value.problems
    assert problem.path == "sources[0].columns.rd_expense.type"
    assert (problem.fields["old"], problem.fields["new"]) == ("money (uscc)", "integer (uscc)")
    assert "列“rd_expense”的类型将从 money (uscc) 改为 integer (uscc)" in (
        refused.value.message_in("zh")
    )


def test_columns_no_published_policy_reads_may_go(engine: Engine) -> None:
    declare(engine, DEMO)
    published(engine, RD_POLICY, state=PolicyState.SUSPENDED)
    published(engine, EMPLOYMENT_POLICY, state=PolicyState.CLOSED)
    dropped = declare(engine, WITHOUT_TAX.replace("months_insured_2019", "months_2019"))
    assert dropped.declaration.version == 2
    kept = declare(engine, DEMO.replace("      export_revenue:", "      exports:"))
    assert kept.declaration.version == 3


def test_a_firm_column_becoming_an_employee_one_is_a_retype(engine: Engine) -> None:
    declare(engine, DEMO)
    published(engine, RD_POLICY)
    moved = DEMO.replace("      rd_expense:\n", "      rd_spent:\n").replace(
        "      months_insured_2019:", "      rd_expense:\n        type: money\n"
        "        nullable: true\n        label: {zh: 研发, en: R&D}\n      months_insured_2019:"
    )  # fmt: skip
    with pytest.raises(DeclarationError) as refused:
        declare(engine, moved)
    (problem,) = refused.value.problems
    assert problem.code == "declaration.retyped_in_use"
    assert problem.fields["new"] == "money (person_id)"


def test_the_catalog_view_lists_built_in_and_declared_columns(engine: Engine) -> None:
    declare(engine, DEMO)
    with Session(engine) as session:
        view = service.catalog_view(session)
    assert view.version == 1
    by_name = {c.name: c for c in view.columns}
    assert (by_name["status"].source, by_name["status"].scope) == ("enterprises", "firm")
    assert by_name["hire_date"].scope == "employee"
    assert "uscc" in by_name  # the firm's
    rd = by_name["rd_expense"]
    assert (rd.label_zh, rd.label_en, rd.type, rd.source) == (
        "研发费用",
        "R&D expense",
        "money",
        "tax",
    )
    assert rd.department == "Hangzhou Municipal Tax Service"
    months = by_name["months_insured_2019"]
    assert (months.scope, months.nullable) == ("employee", False)


# --- the command -----------------------------------------------------------------------------


def test_the_command_declares_then_says_unchanged(app_env: Engine, tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(DEMO, encoding="utf-8")
    code, output = qinqing("registry", "declare", path, "--by", "li.wei")
    assert code == 0, output
    assert "declared version 1: 2 sources, 3 columns" in output
    assert "tax (uscc, Hangzhou Municipal Tax Service): rd_expense, export_revenue" in output
    code, output = qinqing("registry", "declare", path, "--by", "li.wei")
    assert code == 0, output
    assert "unchanged" in output
    assert [e.actor for e in audited(app_env)] == ["officer:li.wei"]
    code, output = qinqing("registry", "catalog")
    assert code == 0, output
    assert "declaration version 1" in output
    line = next(line for line in output.splitlines() if "rd_expense" in line)
    for shown in ("研发费用", "money", "tax", "Hangzhou Municipal Tax Service", "yes"):
        assert shown in line


def test_the_command_prints_every_problem_and_exits_1(app_env: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(DEMO.replace("key: uscc", "key: firm").replace("type: integer", "type: int"))
    code, output = qinqing("registry", "declare", path)
    assert code == 1
    assert "bad.yaml: the declaration has 2 problems; nothing was declared" in output
    assert "bad.yaml: line 6: sources[0].key: 'firm' is not a key" in output
    assert "sources[1].columns.months_insured_2019.type: 'int' is not a type" in output
    assert declarations(app_env) == []


def test_a_file_that_is_not_utf8_is_refused_by_line(app_env: Engine, tmp_path: Path) -> None:
    path = tmp_path / "gbk.yaml"
    path.write_bytes(DEMO.encode("gbk"))
    code, output = qinqing("registry", "declare", path)
    assert code == 1
    assert "gbk.yaml: line 12: is not YAML: not UTF-8" in output
    assert declarations(app_env) == []


def test_a_missing_file_is_a_usage_error(app_env: Engine, tmp_path: Path) -> None:
    code, output = qinqing("registry", "declare", tmp_path / "none.yaml")
    assert code == 2
    assert "does not exist" in output


# --- the officer API -------------------------------------------------------------------------


@pytest.fixture
def client(app_env: Engine) -> Iterator[TestClient]:
    with TestClient(app_for_this_test()) as test_client:
        yield test_client


URL = "/api/v1/registry/declarations"


def test_an_officer_declares_over_http(client: TestClient, app_env: Engine) -> None:
    sent = {"document": "sources.yaml", "text": DEMO}
    created = client.post(URL, json=sent, headers=token(Role.OFFICER))
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["version"], body["created"], body["declared_by"]) == (
        1,
        True,
        "officer:officer-tester",
    )
    tax = body["sources"][0]
    assert tax["columns"][0]["label"] == {"zh": "研发费用", "en": "R&D expense"}
    again = client.post(URL, json=sent, headers=token(Role.OFFICER))
    assert again.status_code == 200, again.text
    assert (again.json()["version"], again.json()["created"]) == (1, False)
    listed = client.get(URL, headers=token(Role.AUDITOR))
    assert listed.status_code == 200, listed.text
    assert listed.headers["X-Total-Count"] == "1"
    assert [v["version"] for v in listed.json()] == [1]


def test_a_refused_declaration_is_422_with_every_problem(
    client: TestClient, app_env: Engine
) -> None:
    sent = {"document": "bad.yaml", "text": DEMO.replace("key: uscc", "key: firm")}
    refused = client.post(URL, json=sent, headers=token(Role.OFFICER) | {"Accept-Language": "zh"})
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    body = refused.json()
    assert body["type"] == "urn:qinqing:problem:invalid-declaration"
    assert body["code"] == "declaration.invalid_one"
    assert body["problems"] == [
        {
            "field": "sources[0].key",
            "line": 6,
            "code": "declaration.bad_key",
            "message": "'firm' is not a key; use uscc (one row per firm) or person_id "
            "(one row per employee)",
        }
    ]
    assert "“firm”不是有效的键" in body["message"]
    assert declarations(app_env) == []


def test_only_officers_declare(client: TestClient, app_env: Engine) -> None:
    sent = {"document": "sources.yaml", "text": DEMO}
    firm = token(Role.ENTERPRISE, demo_uscc())
    for headers in (firm, token(Role.AUDITOR), token(Role.FINANCE)):
        assert client.post(URL, json=sent, headers=headers).status_code == 403
    assert client.get(URL, headers=firm).status_code == 403
    assert client.get("/api/v1/registry/catalog", headers=firm).status_code == 403
    assert declarations(app_env) == []


def test_the_catalog_over_http(client: TestClient, app_env: Engine) -> None:
    before = client.get("/api/v1/registry/catalog", headers=token(Role.OFFICER))
    assert before.status_code == 200, before.text
    assert before.json()["version"] == 0
    assert "rd_expense" not in {c["name"] for c in before.json()["columns"]}
    declare(app_env, DEMO)
    after = client.get("/api/v1/registry/catalog", headers=token(Role.AUDITOR)).json()
    by_name = {c["name"]: c for c in after["columns"]}
    assert after["version"] == 1
    assert by_name["months_insured_2019"] == {
        "name": "months_insured_2019",
        "label": {"zh": "2019年参保月数", "en": "Months insured in 2019"},
        "type": "integer",
        "scope": "employee",
        "source": "social-insurance",
        "department": "Hangzhou Human Resources and Social Security Bureau",
        "nullable": False,
        "description": "Months of 2019 for which the employer paid the person's contributions",
    }
    assert by_name["status"]["source"] == "enterprises"
    assert by_name["status"]["department"] is None


def test_the_count_query_is_the_versions(engine: Engine) -> None:
    declare(engine, DEMO)
    declare(engine, "sources: []\n")
    with Session(engine) as session:
        assert service.count(session) == 2
        assert [d.version for d, _ in service.versions(session, limit=1)] == [2]
        total = session.execute(select(func.count()).select_from(RegistryDeclaration))
        assert total.scalar_one() == 2


def test_a_version_taken_meanwhile_is_a_conflict_not_a_crash(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    declare(engine, DEMO)
    monkeypatch.setattr(service, "latest_declaration", lambda session: None)  # read before it
    with Session(engine) as session:
        with pytest.raises(ConcurrentDeclaration) as lost:
            service.declare(session, "sources: []\n", "d.yaml", by=OFFICER)
        assert "version 1 meanwhile" in str(lost.value)
        assert session.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == 1
    assert declarations(engine) == [1]


def test_the_demo_declares_its_two_sources_once(engine: Engine) -> None:
    with Session(engine) as session:
        first = service.declare_demo(session)
        again = service.declare_demo(session)
        session.commit()
    assert (first.created, again.created) == (True, False)
    assert [e.actor for e in audited(engine)] == ["system:demo"]
