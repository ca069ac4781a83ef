"""The policy lifecycle: draft -> published -> suspended -> closed, with immutable versions.

Publishing is all-or-nothing: `approve` checks the document completely (schema, rules, what the
caller adds such as the matcher's ability to compile it, and every embedded test) and only an
`Approved` document can be published. Suspending and closing take two officers
(`policies.lifecycle`); `check_change` is the lifecycle they follow. The service flushes; the
caller's session commits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from sqlmodel import Session

from policies import repository
from policies.checking import CheckedPolicy, check
from policies.document import PolicyDocument, canonical_json, content_hash, load_document
from policies.errors import Issue, PolicyDocumentError, PolicyError
from policies.models import Policy, PolicyState, PolicyVersion
from policies.testing import TestResult, run_tests
from subsidy.actors import person
from subsidy.audit import service as audit
from subsidy.auth import Role
from subsidy.db import utcnow
from subsidy.registry.catalog import BUILTIN, Catalog

EDITORS = (Role.OFFICER,)
"""Who changes drafts and policies (the API's routes and the portal's pages alike): the officer
alone; an auditor reads, never writes."""
READERS = (Role.OFFICER, Role.FINANCE, Role.AUDITOR)
"""Who reads the policies: officers and auditors, and finance, who pays by them."""

ExtraCheck = Callable[[CheckedPolicy, str], list[Issue]]
"""A further check before publishing, e.g. that the matcher can compile the rules."""

_NEXT_STATES = {
    PolicyState.SUSPENDED: {PolicyState.PUBLISHED},
    PolicyState.CLOSED: {PolicyState.PUBLISHED, PolicyState.SUSPENDED},
}


class PolicyNotFoundError(PolicyError):
    """No policy (or no such version) with that id."""

    code = "policy.not_found"
    status, slug, title = 404, "unknown-policy", "No such policy"


class PolicyStateError(PolicyError):
    """The lifecycle does not allow that change from the policy's current state."""

    code = "policy.state"
    status, slug, title = 409, "policy-state", "The policy's lifecycle does not allow this"
    variants = ("policy.closed",)
    states: ClassVar[Mapping[str, str]] = {"state": "policy", "to": "policy"}


@dataclass(frozen=True)
class Approved:
    """A document that passed every check and test: the only thing `publish` accepts."""

    checked: CheckedPolicy
    tests: list[TestResult]

    @property
    def document(self) -> PolicyDocument:
        return self.checked.document


@dataclass(frozen=True)
class Publication:
    policy: Policy
    version: PolicyVersion
    created: bool
    """False when the document is the latest published version already (nothing was stored)."""


def approve(
    document: PolicyDocument,
    source: str,
    extra_checks: Sequence[ExtraCheck] = (),
    *,
    catalog: Catalog = BUILTIN,
) -> Approved:
    """Check everything a publication needs under `catalog` (the declaration in force), or
    raise PolicyDocumentError with every issue."""
    checked = check(document, catalog=catalog)
    issues = [issue for extra in extra_checks for issue in extra(checked, source)]
    results = run_tests(checked)
    issues += [
        Issue.coded(
            source, f"tests[{i}]", None, None, "policy.test_fails", name=r.name, why=r.message
        )
        for i, r in enumerate(results)
        if not r.passed
    ]
    if not document.tests:
        issues.append(Issue.coded(source, "tests", None, None, "policy.no_tests"))
    if issues:
        raise PolicyDocumentError(source, issues)
    return Approved(checked, results)


def publish(session: Session, approved: Approved, *, by: str) -> Publication:
    """Store the document as the policy's next version and make the policy published."""
    document = approved.document
    policy = repository.get(session, document.id, for_update=True)
    if policy is not None and policy.state == PolicyState.CLOSED:
        raise PolicyStateError(code="policy.closed", policy_id=policy.id)
    digest = content_hash(document)
    latest = repository.version(session, document.id, policy.latest_version) if policy else None
    if (
        policy
        and latest
        and latest.content_hash == digest
        and policy.state == PolicyState.PUBLISHED
    ):
        return Publication(policy, latest, created=False)
    before = audited_state(policy)
    now = utcnow()
    titles = document.titles
    if policy is None:
        policy = Policy(id=document.id, title="", title_en="", state=PolicyState.DRAFT)
        session.add(policy)
    policy.latest_version += 1
    policy.title, policy.title_en = titles.get("zh"), titles.get("en")
    policy.state = PolicyState.PUBLISHED
    policy.updated_at = now
    version = PolicyVersion(
        policy_id=document.id,
        version=policy.latest_version,
        content_hash=digest,
        document=canonical_json(document),
        published_at=now,
        published_by=person(by),  # the person; the trail keeps the actor
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor=by,
        action="policy.publish",
        subject=f"policy:{document.id}",
        before=before,
        after=audited_state(policy) | {"content_hash": digest},
    )
    return Publication(policy, version, created=True)


def check_change(policy: Policy, to: PolicyState) -> None:
    """Refuse a change the lifecycle does not allow from the policy's current state."""
    if policy.state not in _NEXT_STATES.get(to, set()):
        raise PolicyStateError(policy_id=policy.id, state=str(policy.state), to=str(to))


def audited_state(policy: Policy | None) -> dict[str, object]:
    if policy is None:
        return {}
    return {"state": str(policy.state), "version": policy.latest_version}


def policies(session: Session, *, offset: int = 0, limit: int | None = None) -> list[Policy]:
    """Policies by id (a page of them when `limit` is given)."""
    return repository.list_all(session, offset=offset, limit=limit)


def titles(session: Session, policy_ids: set[str], language: str) -> dict[str, str]:
    """Each policy's title in `language`, for pages that list rows of several policies."""
    return {p.id: p.title_in(language) for p in repository.by_ids(session, policy_ids)}


def count_policies(session: Session) -> int:
    return repository.count_all(session)


def history(session: Session, policy_id: str) -> tuple[Policy, list[PolicyVersion]]:
    policy = existing(session, policy_id)
    return policy, repository.versions(session, policy_id)


PARSED_DOCUMENTS_KEPT = 1024
"""Parsed published documents kept per process (a few kilobytes each)."""

_parsed: dict[str, PolicyDocument] = {}


def published_document(version: PolicyVersion) -> PolicyDocument:
    """The document a version holds, exactly as published: parsed once per content.

    Kept by the version's content hash, which names what the document says: a database reset
    or restored under the same process can hold another document as "version 1 of this policy",
    and must never be served the one parsed before."""
    document = _parsed.get(version.content_hash)
    if document is None:
        document = load_document(version.document, f"{version.policy_id}-v{version.version}.json")
        if len(_parsed) >= PARSED_DOCUMENTS_KEPT:  # versions go by; never grow without bound
            _parsed.clear()
        _parsed[version.content_hash] = document
    return document


def current_document(session: Session, policy: Policy) -> tuple[int, PolicyDocument]:
    """The version number and document of the policy's latest version. Reads the version's
    content hash alone when its document is parsed already (the redemption path's case)."""
    number = policy.latest_version
    digest = repository.version_hash(session, policy.id, number)
    if digest is None:
        raise PolicyNotFoundError(policy_id=policy.id)
    document = _parsed.get(digest)
    if document is None:
        stored = repository.version(session, policy.id, number)
        assert stored is not None, "a version whose hash was just read is stored"
        document = published_document(stored)
    return number, document


def existing(session: Session, policy_id: str, *, for_update: bool = False) -> Policy:
    policy = repository.get(session, policy_id, for_update=for_update)
    if policy is None:
        raise PolicyNotFoundError(policy_id=policy_id)
    return policy
