"""Officers over HTTP: drafts saved as sent, validated, tested and published; the lifecycle."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from policies.checking import CheckedPolicy
from policies.document import canonical_json, load_document, load_path
from policies.endpoints import build_router
from policies.errors import Issue
from policies.limits import MAX_DOCUMENT_BYTES
from policies.models import Policy, PolicyDraft, PolicyVersion
from subsidy.api import problems
from subsidy.audit.models import AuditEntry
from subsidy.auth import Role, mint
from subsidy.settings import get_settings
from tests.apps import app_for_this_test
from tests.subsidy.test_api import demo_uscc, token

EXAMPLES = Path(__file__).parents[2] / "policies" / "examples"
UI_PATH = EXAMPLES / "hz-2020-ui-refund.yaml"
UI = UI_PATH.read_text(encoding="utf-8")
UI_ID = "hz-2020-ui-refund"
BROKEN_TEST = UI.replace("amount: ui_premium * refund_rate", "amount: ui_premium * refund_rate * 2")
YAML = {"Content-Type": "application/yaml"}
JSON = {"Content-Type": "application/json"}
PROBLEM = "urn:qinqing:problem:"


@pytest.fixture
def client(app_env: Engine) -> Iterator[TestClient]:
    with TestClient(app_for_this_test()) as test_client:
        yield test_client


def bearer(role: Role) -> dict[str, str]:
    return token(role, demo_uscc() if role is Role.ENTERPRISE else None)


def officer() -> dict[str, str]:
    return bearer(Role.OFFICER)


def save(client: TestClient, text: str, headers: dict[str, str] = YAML) -> dict[str, Any]:
    response = client.post("/api/v1/policy-drafts", content=text, headers=officer() | headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def publish(client: TestClient, draft_id: int) -> Any:
    return client.post(f"/api/v1/policy-drafts/{draft_id}/publish", headers=officer())


def audit_trail(engine: Engine) -> list[tuple[str, str, str]]:
    with Session(engine) as session:
        entries = session.execute(select(AuditEntry).order_by(col(AuditEntry.id))).scalars()
        return [(e.action, e.actor, e.subject) for e in entries]


def count(engine: Engine, model: type[Any]) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = dict(response.json())
    assert body["type"] == PROBLEM + slug
    return body


# --- drafts ------------------------------------------------------------------------------------


def test_a_draft_is_stored_exactly_as_sent_with_its_validation(
    client: TestClient, app_env: Engine
) -> None:
    response = client.post("/api/v1/policy-drafts", content=UI, headers=officer() | YAML)
    assert response.status_code == 201, response.text
    draft = response.json()
    assert response.headers["Location"] == f"/api/v1/policy-drafts/{draft['id']}"
    assert draft["text"] == UI
    assert (draft["format"], draft["policy_id"], draft["published_version"]) == (
        "yaml",
        UI_ID,
        None,
    )
    assert draft["created_by"] == draft["updated_by"] == "officer-tester"
    assert draft["validation"] == {"valid": True, "policy_id": UI_ID, "issues": []}

    one = client.get(f"/api/v1/policy-drafts/{draft['id']}", headers=bearer(Role.AUDITOR))
    assert one.status_code == 200
    assert one.json()["text"] == UI
    listed = client.get("/api/v1/policy-drafts", headers=bearer(Role.AUDITOR)).json()
    assert [d["id"] for d in listed] == [draft["id"]]
    assert "text" not in listed[0]
    assert client.get("/api/v1/policy-drafts?policy_id=other", headers=officer()).json() == []
    # The trail names the actor as every other domain does (issue 17: it said "officer-tester"
    # for a draft or a publish and "officer:officer-tester" for an approval); the draft's and
    # the version's `*_by` keep the person.
    assert audit_trail(app_env) == [
        ("policy.draft.create", "officer:officer-tester", f"policy-draft:{draft['id']}")
    ]


@pytest.mark.parametrize(
    "media", ["application/yaml", "text/yaml", "application/x-yaml; charset=utf-8"]
)
def test_every_yaml_media_type_is_accepted(client: TestClient, media: str) -> None:
    assert save(client, UI, {"Content-Type": media})["format"] == "yaml"


def test_a_json_draft_keeps_its_text_and_loads_as_json(client: TestClient) -> None:
    text = json.dumps(json.loads(canonical_json(load_path(UI_PATH))), indent=2)
    draft = save(client, text, {"Content-Type": "application/json; charset=UTF-8"})
    assert (draft["format"], draft["text"]) == ("json", text)
    assert draft["validation"]["valid"] is True


def test_a_draft_with_problems_is_stored_and_validate_places_each_one(
    client: TestClient,
) -> None:
    text = UI.replace("and ui_premium > 0", "and ui_premum > 0").replace("mode:", "mood:")
    draft = save(client, text)
    assert draft["validation"]["valid"] is False
    # The schema and the rules it can read at once: the unknown key is named where it sits
    # (line 14), and the misspelt column too, though the schema refuses the document.
    schema = {issue["field"]: issue for issue in draft["validation"]["issues"]}
    assert schema.keys() == {"mode", "mood", "eligibility"}
    assert (schema["eligibility"]["line"], schema["eligibility"]["column"]) == (19, 7)
    assert (schema["mood"]["line"], schema["mood"]["column"]) == (14, 1)
    assert schema["mood"]["message"] == "unknown field 'mood' (did you mean 'mode'?)"
    assert schema["mode"]["message"] == "required field is missing"

    fixed_mode = text.replace("mood:", "mode:")
    replaced = client.put(
        f"/api/v1/policy-drafts/{draft['id']}", content=fixed_mode, headers=officer() | YAML
    )
    assert replaced.status_code == 200, replaced.text
    validated = client.post(
        f"/api/v1/policy-drafts/{draft['id']}/validate", headers=bearer(Role.AUDITOR)
    )
    assert validated.status_code == 200
    assert validated.json() == replaced.json()["validation"]
    (issue,) = validated.json()["issues"]
    # The misspelt column on line 19, `  and ui_premum > 0`, is at column 7.
    assert (issue["field"], issue["line"], issue["column"]) == ("eligibility", 19, 7)
    assert "unknown symbol 'ui_premum'" in issue["message"]
    assert "did you mean 'ui_premium'" in issue["message"]


def test_validate_includes_the_checks_the_assembly_adds(client: TestClient) -> None:
    """The matcher refuses `$random()` (a subsidy cannot depend on chance); rule-engine accepts
    it. The app's router asks the matcher, as `qinqing policy validate` does."""
    # in brackets: still the example's four clauses, which its labels name
    text = UI.replace("and ui_premium > 0", "and (ui_premium > 0 and $random() > 0.5)")
    draft = save(client, text)
    (issue,) = draft["validation"]["issues"]
    assert issue["field"] == "eligibility"
    assert "the compiler cannot compile" in issue["message"]
    assert publish(client, draft["id"]).status_code == 422


def test_a_router_is_built_with_the_checks_it_is_given(app_env: Engine) -> None:
    def never(checked: CheckedPolicy, source: str) -> list[Issue]:
        return [Issue(source, "amount", None, None, "not on a Sunday")]

    app = FastAPI()
    problems.install(app)
    app.include_router(build_router(extra_checks=[never]))
    with TestClient(app) as client:
        draft = save(client, UI)
        assert draft["validation"]["issues"] == [
            {"field": "amount", "line": None, "column": None, "message": "not on a Sunday"}
        ]
        refused = assert_problem(publish(client, draft["id"]), 422, "invalid-policy")
        assert [i["message"] for i in refused["issues"]] == ["not on a Sunday"]
    assert count(app_env, PolicyVersion) == 0


def test_unparseable_text_is_refused_at_its_line_and_column_and_not_stored(
    client: TestClient, app_env: Engine
) -> None:
    bad_yaml = UI.replace("en: Unemployment-insurance", "en: Unemployment: insurance")
    response = client.post("/api/v1/policy-drafts", content=bad_yaml, headers=officer() | YAML)
    body = assert_problem(response, 422, "invalid-policy")
    assert body["issues"] == [
        {
            "field": "",
            "line": 5,
            "column": 19,
            "message": "invalid YAML: mapping values are not allowed here",
        }
    ]
    bad_json = '{"id": "x",\n "title": }'
    body = assert_problem(
        client.post("/api/v1/policy-drafts", content=bad_json, headers=officer() | JSON),
        422,
        "invalid-policy",
    )
    assert (body["issues"][0]["line"], body["issues"][0]["column"]) == (2, 11)
    not_a_mapping = client.post(
        "/api/v1/policy-drafts", content="- a\n- b\n", headers=officer() | YAML
    )
    body = assert_problem(not_a_mapping, 422, "invalid-policy")
    assert body["issues"][0]["message"] == "a policy document is a mapping of fields"
    not_utf8 = client.post(
        "/api/v1/policy-drafts", content=b"id: x\ntitle: caf\xe9\n", headers=officer() | YAML
    )
    body = assert_problem(not_utf8, 422, "invalid-policy")
    assert (body["issues"][0]["line"], body["issues"][0]["column"]) == (2, 11)
    assert count(app_env, PolicyDraft) == 0
    assert audit_trail(app_env) == []


@pytest.mark.parametrize(
    "headers", [{"Content-Type": "text/plain"}, {}, {"Content-Type": "text/yaml; charset=latin-1"}]
)
def test_a_document_must_be_sent_as_yaml_or_json(
    client: TestClient, app_env: Engine, headers: dict[str, str]
) -> None:
    response = client.post("/api/v1/policy-drafts", content=UI, headers=officer() | headers)
    assert_problem(response, 415, "unsupported-media-type")
    assert count(app_env, PolicyDraft) == 0


def test_a_huge_document_is_refused(client: TestClient) -> None:
    """Past the document's own limit (policies/limits.py) it is named as a document; far past
    it, the body limit stops the request before it is read (tests/security/test_body_limit.py)."""
    large = UI + "# " + "x" * MAX_DOCUMENT_BYTES + "\n"
    response = client.post("/api/v1/policy-drafts", content=large, headers=officer() | YAML)
    assert_problem(response, 413, "document-too-large")
    huge = UI + "# " + "x" * get_settings().max_document_body_bytes + "\n"
    response = client.post("/api/v1/policy-drafts", content=huge, headers=officer() | YAML)
    assert_problem(response, 413, "body-too-large")


def test_replacing_a_draft_keeps_the_new_text_and_audits_the_change(
    client: TestClient, app_env: Engine
) -> None:
    draft = save(client, UI)
    as_json = canonical_json(load_path(UI_PATH))
    url = f"/api/v1/policy-drafts/{draft['id']}"
    replaced = client.put(url, content=as_json, headers=officer() | JSON)
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["format"], replaced.json()["text"]) == ("json", as_json)
    unchanged = client.put(url, content=as_json, headers=officer() | JSON)
    assert unchanged.status_code == 200
    refused = client.put(url, content="id: [", headers=officer() | YAML)
    assert_problem(refused, 422, "invalid-policy")
    assert client.get(url, headers=officer()).json()["text"] == as_json
    assert [action for action, _, _ in audit_trail(app_env)] == [
        "policy.draft.create",
        "policy.draft.update",
    ]
    with Session(app_env) as session:
        update = session.execute(
            select(AuditEntry).where(col(AuditEntry.action) == "policy.draft.update")
        ).scalar_one()
    digest = hashlib.sha256(as_json.encode()).hexdigest()
    assert json.loads(update.after)["text_sha256"] == digest
    assert json.loads(update.after)["format"] == "json"
    assert json.loads(update.before)["format"] == "yaml"
    missing = client.put("/api/v1/policy-drafts/999", content=UI, headers=officer() | YAML)
    assert_problem(missing, 404, "unknown-draft")
    assert_problem(client.get("/api/v1/policy-drafts/999", headers=officer()), 404, "unknown-draft")


# --- tests and publication ---------------------------------------------------------------------


def test_embedded_tests_run_through_the_reference(client: TestClient) -> None:
    good = client.post(f"/api/v1/policy-drafts/{save(client, UI)['id']}/test", headers=officer())
    assert good.status_code == 200
    assert (good.json()["passed"], good.json()["failed"]) == (3, 0)
    first = good.json()["results"][0]
    assert first == {
        "name": "an active payer gets half its premium back",
        "passed": True,
        "message": "",
        "expected": {"eligible": True, "amount": "500.13"},
        "got": {"qualifies": True, "amount": "500.13", "error": None},
    }

    bad_id = save(client, BROKEN_TEST)["id"]
    bad = client.post(f"/api/v1/policy-drafts/{bad_id}/test", headers=bearer(Role.AUDITOR)).json()
    assert (bad["passed"], bad["failed"]) == (2, 1)
    assert [r["passed"] for r in bad["results"]] == [False, True, True]  # the cap still holds
    assert bad["results"][0]["message"] == (
        "expected eligible for 500.13 yuan, got eligible for 1,000.25 yuan"
    )

    unchecked_id = save(client, UI.replace("ui_premium > 0", "ui_premum > 0"))["id"]
    body = assert_problem(
        client.post(f"/api/v1/policy-drafts/{unchecked_id}/test", headers=officer()),
        422,
        "invalid-policy",
    )
    assert body["issues"][0]["field"] == "eligibility"


def test_a_draft_whose_test_fails_is_not_published_and_nothing_is_stored(
    client: TestClient, app_env: Engine
) -> None:
    draft = save(client, BROKEN_TEST)
    body = assert_problem(publish(client, draft["id"]), 422, "invalid-policy")
    fields = [issue["field"] for issue in body["issues"]]
    assert fields == ["tests[0]"]
    assert "fails: expected eligible for 500.13 yuan" in body["issues"][0]["message"]
    assert count(app_env, Policy) == count(app_env, PolicyVersion) == 0
    assert [action for action, _, _ in audit_trail(app_env)] == ["policy.draft.create"]
    again = client.get(f"/api/v1/policy-drafts/{draft['id']}", headers=officer()).json()
    assert again["published_version"] is None
    assert client.get("/api/v1/policies", headers=officer()).json() == []


def test_publishing_the_same_draft_twice_stores_one_version(
    client: TestClient, app_env: Engine
) -> None:
    draft = save(client, UI)
    first = publish(client, draft["id"])
    assert first.status_code == 201, first.text
    assert first.headers["Location"] == f"/api/v1/policies/{UI_ID}/versions/1"
    assert first.json()["created"] is True
    assert first.json()["policy"]["state"] == "published"
    assert first.json()["version"]["version"] == 1
    assert first.json()["version"]["published_by"] == "officer-tester"

    second = publish(client, draft["id"])
    assert second.status_code == 200, second.text
    assert (second.json()["created"], second.json()["version"]["version"]) == (False, 1)
    # The same document in another draft (other formatting, JSON even) is that version too.
    twin = save(client, canonical_json(load_path(UI_PATH)), JSON)
    third = publish(client, twin["id"])
    assert (third.status_code, third.json()["version"]["version"]) == (200, 1)

    assert count(app_env, PolicyVersion) == 1
    assert (
        client.get(f"/api/v1/policy-drafts/{draft['id']}", headers=officer()).json()[
            "published_version"
        ]
        == 1
    )
    assert [(a, who) for a, who, _ in audit_trail(app_env)] == [
        ("policy.draft.create", "officer:officer-tester"),
        ("policy.publish", "officer:officer-tester"),
        ("policy.draft.published", "officer:officer-tester"),
        ("policy.draft.create", "officer:officer-tester"),
        ("policy.draft.published", "officer:officer-tester"),
    ]
    refused = client.put(
        f"/api/v1/policy-drafts/{draft['id']}", content=UI, headers=officer() | YAML
    )
    assert_problem(refused, 409, "draft-published")


def test_a_changed_draft_publishes_the_next_version(client: TestClient) -> None:
    assert publish(client, save(client, UI)["id"]).status_code == 201
    title = "杭州市2020年失业保险稳岗返还"
    retitled = UI.replace(f"zh: {title}", f"zh: {title}（第二版）")
    response = publish(client, save(client, retitled)["id"])
    assert response.status_code == 201, response.text
    assert response.json()["version"]["version"] == 2
    # `title` is the default language's (Chinese), `titles` each language's.
    assert response.json()["policy"]["title"] == "杭州市2020年失业保险稳岗返还（第二版）"
    assert response.json()["policy"]["titles"] == {
        "zh": "杭州市2020年失业保险稳岗返还（第二版）",
        "en": "Unemployment-insurance refund for job retention",
    }


def test_versions_and_each_document_as_published(client: TestClient) -> None:
    publish(client, save(client, UI)["id"])
    (policy,) = client.get("/api/v1/policies", headers=bearer(Role.FINANCE)).json()
    assert (policy["id"], policy["state"], policy["latest_version"]) == (UI_ID, "published", 1)
    assert client.get(f"/api/v1/policies/{UI_ID}", headers=bearer(Role.AUDITOR)).json() == policy
    (version,) = client.get(
        f"/api/v1/policies/{UI_ID}/versions", headers=bearer(Role.AUDITOR)
    ).json()
    assert (version["version"], version["published_by"]) == (1, "officer-tester")

    document = client.get(f"/api/v1/policies/{UI_ID}/versions/1", headers=officer())
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/json"
    assert hashlib.sha256(document.content).hexdigest() == version["content_hash"]
    assert document.headers["ETag"] == f'"{version["content_hash"]}"'
    assert load_document(document.text, "v1.json") == load_path(UI_PATH)
    assert '"value":0.5}' in document.text  # a number, exact, never a float or text

    missing = client.get(f"/api/v1/policies/{UI_ID}/versions/2", headers=officer())
    assert_problem(missing, 404, "unknown-version")
    for url in ("/api/v1/policies/nope", "/api/v1/policies/nope/versions"):
        assert_problem(client.get(url, headers=officer()), 404, "unknown-policy")


# --- lifecycle ---------------------------------------------------------------------------------


def officer_named(subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint(get_settings(), Role.OFFICER, subject=subject)}"}


def request_change(
    client: TestClient, verb: str, by: dict[str, str], policy_id: str = UI_ID
) -> Any:
    return client.post(
        f"/api/v1/policies/{policy_id}/{verb}-requests", json={"reason": "why"}, headers=by
    )


def confirmed(client: TestClient, request_id: int, by: dict[str, str]) -> Any:
    return client.post(f"/api/v1/policy-action-requests/{request_id}/confirm", headers=by)


def test_suspend_and_close_follow_the_lifecycle_and_are_audited(
    client: TestClient, app_env: Engine
) -> None:
    publish(client, save(client, UI)["id"])
    li, wang = officer_named("li.wei"), officer_named("wang.fang")
    asked = request_change(client, "suspend", li)
    assert asked.status_code == 201, asked.text
    assert asked.headers["Location"] == f"/api/v1/policy-action-requests/{asked.json()['id']}"
    suspended = confirmed(client, asked.json()["id"], wang)
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["policy"]["state"] == "suspended"
    assert suspended.json()["request"]["status"] == "confirmed"
    again = assert_problem(request_change(client, "suspend", li), 409, "policy-state")
    assert "suspended; it cannot become suspended" in again["detail"]
    closing = request_change(client, "close", wang).json()["id"]
    assert confirmed(client, closing, li).json()["policy"]["state"] == "closed"
    assert_problem(request_change(client, "close", li), 409, "policy-state")
    # A closed policy is not published again, from any draft; nothing is stored.
    revived = save(client, UI.replace("en: Unemployment", "en: Revived unemployment"))
    assert_problem(publish(client, revived["id"]), 409, "policy-state")
    assert count(app_env, PolicyVersion) == 1
    assert_problem(request_change(client, "close", li, "nope"), 404, "unknown-policy")

    changes = ("policy.suspended", "policy.closed")
    trail = [entry for entry in audit_trail(app_env) if entry[0] in changes]
    assert trail == [
        ("policy.suspended", "officer:wang.fang", f"policy:{UI_ID}"),
        ("policy.closed", "officer:li.wei", f"policy:{UI_ID}"),
    ]
    assert client.get(f"/api/v1/policies/{UI_ID}", headers=officer()).json()["state"] == "closed"


def test_a_request_needs_a_reason_and_one_pending_at_a_time(client: TestClient) -> None:
    publish(client, save(client, UI)["id"])
    url = f"/api/v1/policies/{UI_ID}/close-requests"
    for body in ({}, {"reason": "   "}, {"reason": "x", "extra": 1}):
        assert client.post(url, json=body, headers=officer()).status_code == 422
    first = request_change(client, "close", officer()).json()
    waiting = assert_problem(request_change(client, "suspend", officer()), 409, "request-pending")
    assert f"pending request {first['id']}" in waiting["detail"]
    listed = client.get("/api/v1/policy-action-requests", headers=bearer(Role.AUDITOR)).json()
    assert [(r["id"], r["status"], r["reason"]) for r in listed] == [
        (first["id"], "pending", "why")
    ]
    assert first["requested_by"] == "officer:officer-tester"


def test_a_suspended_policy_resumes_when_its_draft_is_published_again(
    client: TestClient,
) -> None:
    draft = save(client, UI)
    publish(client, draft["id"])
    asked = request_change(client, "suspend", officer()).json()["id"]
    confirmed(client, asked, officer_named("another"))
    resumed = publish(client, draft["id"])
    assert resumed.status_code == 201
    assert (resumed.json()["policy"]["state"], resumed.json()["version"]["version"]) == (
        "published",
        2,
    )


# --- roles -------------------------------------------------------------------------------------


def test_an_auditor_reads_everything_and_changes_nothing(
    client: TestClient, app_env: Engine
) -> None:
    draft_id = save(client, UI)["id"]
    publish(client, draft_id)
    other_id = save(client, UI.replace("en: Unemployment", "en: Other"))["id"]
    before = audit_trail(app_env)
    writes = [
        ("POST", "/api/v1/policy-drafts", UI),
        ("PUT", f"/api/v1/policy-drafts/{other_id}", UI),
        ("POST", f"/api/v1/policy-drafts/{other_id}/publish", None),
        ("POST", f"/api/v1/policies/{UI_ID}/suspend-requests", '{"reason": "r"}'),
        ("POST", f"/api/v1/policies/{UI_ID}/close-requests", '{"reason": "r"}'),
        ("POST", "/api/v1/policy-action-requests/1/confirm", None),
        ("POST", "/api/v1/policy-action-requests/1/withdraw", None),
    ]
    for method, url, body in writes:
        for role in (Role.AUDITOR, Role.FINANCE, Role.ENTERPRISE):
            response = client.request(method, url, content=body, headers=bearer(role) | YAML)
            assert_problem(response, 403, "forbidden")
    assert audit_trail(app_env) == before
    assert client.get(f"/api/v1/policies/{UI_ID}", headers=officer()).json()["state"] == "published"

    reads = [
        ("GET", "/api/v1/policy-drafts"),
        ("GET", f"/api/v1/policy-drafts/{draft_id}"),
        ("POST", f"/api/v1/policy-drafts/{draft_id}/validate"),
        ("POST", f"/api/v1/policy-drafts/{draft_id}/test"),
        ("GET", "/api/v1/policies"),
        ("GET", f"/api/v1/policies/{UI_ID}/versions"),
        ("GET", f"/api/v1/policies/{UI_ID}/versions/1"),
    ]
    for method, url in reads:
        assert client.request(method, url, headers=bearer(Role.AUDITOR)).status_code == 200, url
        assert_problem(
            client.request(method, url, headers=bearer(Role.ENTERPRISE)), 403, "forbidden"
        )
    assert client.get("/api/v1/policies", headers=bearer(Role.FINANCE)).status_code == 200
    assert_problem(
        client.get("/api/v1/policy-drafts", headers=bearer(Role.FINANCE)), 403, "forbidden"
    )
