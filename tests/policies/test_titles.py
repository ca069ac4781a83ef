"""A policy's title and summary in both languages: `{zh, en}` (zh required, en falling back to
zh), or one plain text as documents were written before, which still loads, hashes as it did and
shows in every language; the policy row keeps both titles (migration 0016 filled them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlmodel import Session

from policies import service
from policies.document import (
    Localized,
    canonical_json,
    content_hash,
    load_document,
    load_path,
)
from policies.models import Policy
from subsidy import db
from subsidy.auth import Role
from tests.policies.test_document import issues_of, line_of, policy_yaml
from tests.policies.test_endpoints import UI, bearer, client, publish, save  # noqa: F401

EXAMPLES = sorted((Path(__file__).parents[2] / "policies" / "examples").glob("*.yaml"))
HAN = re.compile(r"[\u4e00-\u9fff]")

LEGACY_VERSION = (
    '{"amount":"ui_premium * rate","basis":"Test Measures [2020] No. 1","budget":1000000,'
    '"cap":null,"department":"Test bureau","eligibility":"status == \'active\'","group":null,'
    '"id":"test-policy","mode":"one-click","parameters":{"rate":{"basis":"art. 2","value":0.5}},'
    '"review_threshold":null,"tests":[],"title":"Test policy","valid_from":"2020-02-01",'
    '"valid_to":"2020-12-31"}'
)
"""`policy_yaml()` as a version stored before titles had languages, and its stored hash (both
written by the code of that time)."""
LEGACY_HASH = "6c335d93a5abe0a922b3b356af2ca066ea2347babc230d49c59d765c4a17f26f"


def test_a_version_stored_with_a_plain_title_loads_and_hashes_as_before() -> None:
    stored = load_document(LEGACY_VERSION, "test-policy-v1.json")
    assert stored.title == "Test policy"
    assert stored.titles.get("zh") == stored.titles.get("en") == "Test policy"
    assert stored.summary is None
    assert stored.summaries is None
    assert canonical_json(stored) == LEGACY_VERSION
    assert content_hash(stored) == LEGACY_HASH
    # and the same document as an officer writes it today, in YAML
    assert content_hash(load_document(policy_yaml(), "p.yaml")) == LEGACY_HASH


def test_a_title_per_language_and_a_summary() -> None:
    document = load_document(
        policy_yaml(
            title="\n  zh: 杭州市2020年测试补贴\n  en: Test subsidy",
            summary="{zh: 每户一千元。, en: 1000 yuan a firm.}",
        ),
        "p.yaml",
    )
    assert document.titles == Localized(zh="杭州市2020年测试补贴", en="Test subsidy")
    assert document.titles.get("en") == "Test subsidy"
    assert document.summaries is not None
    assert (document.summaries.get("zh"), document.summaries.get("en")) == (
        "每户一千元。",
        "1000 yuan a firm.",
    )
    stored = canonical_json(document)
    assert '"title":{"en":"Test subsidy","zh":"杭州市2020年测试补贴"}' in stored
    assert load_document(stored, "v.json") == document


def test_english_is_optional_and_falls_back_to_chinese() -> None:
    document = load_document(policy_yaml(title="{zh: 只有中文}"), "p.yaml")
    assert document.titles.get("en") == "只有中文"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{en: English only}", "zh (Chinese, the default language) is required; en is optional"),
        ("{zh: ''}", "zh (Chinese, the default language) is required; en is optional"),
        ("{zh: 中文, en: ''}", "en must be text when given (leave it out to show the Chinese)"),
        ("{zh: 中文, fr: Français}", "unknown language 'fr': give zh (required) and en (optional)"),
        ("[中文, English]", "give text, or the words per language as {zh: ..., en: ...}"),
        ("{zh: 42}", "zh (Chinese, the default language) is required; en is optional"),
        ("''", "must not be empty"),
    ],
)
@pytest.mark.parametrize("field", ["title", "summary"])
def test_wrong_words_are_one_problem_naming_the_field_at_its_line(
    field: str, value: str, message: str
) -> None:
    text = policy_yaml(**{field: value})
    (issue,) = issues_of(text)
    assert (issue.field, issue.message) == (field, message)
    assert issue.line == line_of(text, f"{field}:")


words = st.text(st.characters(codec="utf-8"), min_size=1).filter(str.strip)


@settings(max_examples=60, deadline=None)
@given(zh=words, en=st.none() | words, summary=st.none() | words)
def test_any_words_survive_a_stored_version(zh: str, en: str | None, summary: str | None) -> None:
    base = load_document(policy_yaml(), "p.yaml")
    document = base.model_copy(
        update={
            "title": Localized(zh=zh, en=en),
            "summary": None if summary is None else Localized(zh=summary),
        }
    )
    again = load_document(canonical_json(document), "v.json")
    assert again == document
    assert content_hash(again) == content_hash(document)
    assert again.titles.get("zh") == zh
    assert again.titles.get("en") == (en or zh)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_has_a_chinese_and_an_english_title_and_summary(path: Path) -> None:
    document = load_path(path)
    title, summary = document.title, document.summary
    assert isinstance(title, Localized)
    assert isinstance(summary, Localized)
    assert title.zh.startswith("杭州市2020年"), title.zh
    assert summary.zh.endswith("。")
    assert title.en, "every example is written in English too"
    assert summary.en, "every example is written in English too"
    assert not HAN.search(title.en + summary.en)


def test_publishing_keeps_both_titles_on_the_policy(engine: Engine) -> None:
    (ui,) = [p for p in EXAMPLES if p.stem == "hz-2020-ui-refund"]
    approved = service.approve(load_path(ui), ui.name)
    with db.session_scope(engine) as session:
        service.publish(session, approved, by="officer:li")
    with Session(engine) as session:
        policy = session.get(Policy, "hz-2020-ui-refund")
        assert policy is not None
        assert (policy.title_in("zh"), policy.title_in("en")) == (
            "杭州市2020年失业保险稳岗返还",
            "Unemployment-insurance refund for job retention",
        )


def test_migration_0016_gives_existing_policies_their_title_in_english_too(
    engine: Engine,
) -> None:
    from alembic import command

    command.downgrade(db.alembic_config(engine), "0015")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO policy (id, title, state, latest_version, created_at, updated_at)"
                " VALUES ('old-policy', 'Old policy', 'published', 1, :at, :at)"
            ),
            {"at": db.utcnow()},
        )
    db.upgrade(engine)
    with Session(engine) as session:
        policy = session.get(Policy, "old-policy")
        assert policy is not None
        assert (policy.title, policy.title_en) == ("Old policy", "Old policy")


def test_the_api_gives_the_default_title_and_each_language(client: TestClient) -> None:  # noqa: F811
    assert publish(client, save(client, UI)["id"]).status_code == 201
    (listed,) = client.get("/api/v1/policies", headers=bearer(Role.AUDITOR)).json()
    assert listed["title"] == "杭州市2020年失业保险稳岗返还"
    assert listed["titles"] == {
        "zh": "杭州市2020年失业保险稳岗返还",
        "en": "Unemployment-insurance refund for job retention",
    }
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert schema["PolicyOut"]["properties"]["titles"]["$ref"].endswith("/WordsOut")
    assert set(schema["WordsOut"]["required"]) == {"zh", "en"}
