"""Publishing makes immutable versions; the lifecycle refuses what it does not allow."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from policies import service
from policies.document import PolicyDocument, load_path
from policies.errors import Issue, PolicyDocumentError
from policies.models import PolicyState, PolicyVersion
from subsidy import db
from tests.policies.two_officers import change_state

EXAMPLE = Path(__file__).parents[2] / "policies" / "examples" / "hz-2020-ui-refund.yaml"


def example(**changes: object) -> PolicyDocument:
    return load_path(EXAMPLE).model_copy(update=changes)


def publish(engine: Engine, document: PolicyDocument) -> service.Publication:
    approved = service.approve(document, "ui-refund.yaml")
    with db.session_scope(engine) as session:
        return service.publish(session, approved, by="officer-1")


def versions(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(PolicyVersion)).scalar_one())


def test_each_publish_of_a_changed_document_is_a_new_version(engine: Engine) -> None:
    first = publish(engine, example())
    again = publish(engine, example())
    second = publish(engine, example(title="Job-retention refund, second edition"))
    assert (first.version.version, first.created) == (1, True)
    assert (again.version.version, again.created) == (1, False)
    assert (second.version.version, second.created) == (2, True)
    with Session(engine) as session:
        policy, history = service.history(session, "hz-2020-ui-refund")
    assert policy.state == PolicyState.PUBLISHED
    assert [v.published_by for v in history] == ["officer-1", "officer-1"]
    assert service.published_document(history[0]) == example()
    assert history[0].content_hash != history[1].content_hash


def test_a_document_whose_test_fails_is_not_published(engine: Engine) -> None:
    broken = example(amount="ui_premium * refund_rate * 2")
    with pytest.raises(PolicyDocumentError) as refused:
        service.approve(broken, "ui-refund.yaml")
    assert any(issue.field.startswith("tests[") for issue in refused.value.issues)
    assert versions(engine) == 0


def test_an_extra_check_can_refuse_publication(engine: Engine) -> None:
    def never(checked: object, source: str) -> list[Issue]:
        return [Issue(source, "eligibility", None, None, "not today")]

    with pytest.raises(PolicyDocumentError, match="not today"):
        service.approve(example(), "ui-refund.yaml", [never])


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ([PolicyState.SUSPENDED], True),
        ([PolicyState.CLOSED], True),
        ([PolicyState.SUSPENDED, PolicyState.CLOSED], True),
        ([PolicyState.SUSPENDED, PolicyState.SUSPENDED], False),
        ([PolicyState.CLOSED, PolicyState.SUSPENDED], False),
    ],
)
def test_state_changes_follow_the_lifecycle(
    engine: Engine, path: list[PolicyState], allowed: bool
) -> None:
    publish(engine, example())
    *before, last = path
    with db.session_scope(engine) as session:
        for state in before:
            change_state(session, "hz-2020-ui-refund", state)
    if allowed:
        with db.session_scope(engine) as session:
            assert change_state(session, "hz-2020-ui-refund", last).state == last
    else:
        with pytest.raises(service.PolicyStateError), db.session_scope(engine) as session:
            change_state(session, "hz-2020-ui-refund", last)


def test_a_closed_policy_cannot_be_published_again(engine: Engine) -> None:
    publish(engine, example())
    with db.session_scope(engine) as session:
        change_state(session, "hz-2020-ui-refund", PolicyState.CLOSED)
    with pytest.raises(service.PolicyStateError, match="closed"):
        publish(engine, example(title="revived"))
    assert versions(engine) == 1


def test_a_suspended_policy_resumes_by_publishing_a_new_version(engine: Engine) -> None:
    publish(engine, example())
    with db.session_scope(engine) as session:
        change_state(session, "hz-2020-ui-refund", PolicyState.SUSPENDED)
    resumed = publish(engine, example())
    assert resumed.created
    assert resumed.policy.state == PolicyState.PUBLISHED


def test_unknown_policy_is_named(engine: Engine) -> None:
    with pytest.raises(service.PolicyNotFoundError, match="nope"), Session(engine) as session:
        service.history(session, "nope")
