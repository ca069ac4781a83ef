"""Drafts: an officer's policy text, stored as sent, then checked, tested and published.

An editor saves work in progress, so a draft is stored whenever its text parses as a YAML or JSON
mapping, however many problems it still has; `validate` reports them. Publishing goes through
`service.approve` and `service.publish`, so a stored draft is held to exactly what the CLI holds a
file to. Functions flush; the caller's session commits. Creating, replacing and publishing a draft
are audited.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlmodel import Session

from policies import repository, service
from policies.checking import CheckedPolicy, check, load_checked
from policies.document import PolicyDocument, parse_text
from policies.errors import (
    DraftNotFoundError,
    DraftPublishedError,
    Issue,
    PolicyDocumentError,
)
from policies.models import DraftFormat, PolicyDraft
from policies.service import ExtraCheck, Publication
from policies.testing import TestResult, run_tests
from subsidy.actors import person
from subsidy.audit import service as audit
from subsidy.auth import Role
from subsidy.db import utcnow
from subsidy.registry import catalog as catalogs
from subsidy.registry.catalog import BUILTIN, Catalog

READERS = (Role.OFFICER, Role.AUDITOR)
"""Who reads drafts (the API's routes and the portal's pages alike): officers and auditors."""


def source_name(draft_id: int | None, fmt: DraftFormat) -> str:
    """How issues name a draft (`policy-draft-7.yaml`); the suffix picks the parser."""
    return f"policy-draft-{draft_id}.{fmt}" if draft_id is not None else f"policy-draft.{fmt}"


def declared_id(text: str, fmt: DraftFormat, source: str) -> str | None:
    """The policy id the text declares, if any; PolicyDocumentError (placed at line and column)
    when the text is not a YAML or JSON mapping, the one thing a stored draft must be."""
    data = parse_text(text, source)
    if not isinstance(data, dict):
        issue = Issue.coded(source, "", 1, 1, "policy.not_a_mapping")
        raise PolicyDocumentError(source, [issue])
    declared = data.get("id")
    return declared if isinstance(declared, str) else None


def create(session: Session, text: str, fmt: DraftFormat, *, by: str) -> PolicyDraft:
    policy_id = declared_id(text, fmt, source_name(None, fmt))
    now = utcnow()
    draft = PolicyDraft(
        policy_id=policy_id,
        format=fmt,
        text=text,
        created_by=person(by),  # the person; the trail keeps the actor
        created_at=now,
        updated_by=person(by),
        updated_at=now,
    )
    session.add(draft)
    session.flush()
    _audit(session, draft, "policy.draft.create", by, before=None)
    return draft


def replace(
    session: Session, draft_id: int, text: str, fmt: DraftFormat, *, by: str
) -> PolicyDraft:
    """The draft's new text; refused once it is published. The same text again changes nothing."""
    draft = get(session, draft_id, for_update=True)
    if draft.published_version is not None:
        raise DraftPublishedError(
            draft_id=draft_id, policy_id=draft.policy_id, version=draft.published_version
        )
    policy_id = declared_id(text, fmt, source_name(draft_id, fmt))
    if text == draft.text and fmt == draft.format:
        return draft
    before = _state(draft)
    draft.policy_id = policy_id
    draft.format = fmt
    draft.text = text
    draft.updated_by = person(by)
    draft.updated_at = utcnow()
    session.flush()
    _audit(session, draft, "policy.draft.update", by, before=before)
    return draft


def get(session: Session, draft_id: int, *, for_update: bool = False) -> PolicyDraft:
    draft = repository.draft(session, draft_id, for_update=for_update)
    if draft is None:
        raise DraftNotFoundError(draft_id=draft_id)
    return draft


def drafts(
    session: Session,
    policy_id: str | None = None,
    *,
    offset: int = 0,
    limit: int | None = None,
) -> list[PolicyDraft]:
    return repository.drafts(session, policy_id, offset=offset, limit=limit)


def count(session: Session, policy_id: str | None = None) -> int:
    return repository.count_drafts(session, policy_id)


def source_of(draft: PolicyDraft) -> str:
    return source_name(draft.id, draft.format)


def document(draft: PolicyDraft, *, catalog: Catalog = BUILTIN) -> PolicyDocument:
    """The draft's document, or PolicyDocumentError with every schema problem and the problems
    of the rules that can be read despite them."""
    return load_checked(draft.text, source_of(draft), catalog=catalog)


def checked(
    draft: PolicyDraft, extra_checks: Sequence[ExtraCheck] = (), *, catalog: Catalog = BUILTIN
) -> CheckedPolicy:
    """Schema, rules against the catalog's types (the declaration in force), then
    `extra_checks`; every issue raised."""
    source = source_of(draft)
    result = check(document(draft, catalog=catalog), catalog=catalog)
    issues = [issue for extra in extra_checks for issue in extra(result, source)]
    if issues:
        raise PolicyDocumentError(source, issues)
    return result


def validate(
    draft: PolicyDraft, extra_checks: Sequence[ExtraCheck] = (), *, catalog: Catalog = BUILTIN
) -> list[Issue]:
    """What `qinqing policy validate` says of the draft's text: every issue, none when valid."""
    try:
        checked(draft, extra_checks, catalog=catalog)
    except PolicyDocumentError as exc:
        return exc.issues
    return []


def validate_text(
    draft: PolicyDraft,
    text: str,
    extra_checks: Sequence[ExtraCheck] = (),
    *,
    catalog: Catalog = BUILTIN,
) -> list[Issue]:
    """What `validate` would say of the draft with `text` instead of its own (an editor checks
    as the officer types, before saving); stores nothing."""
    unsaved = PolicyDraft(
        id=draft.id,
        policy_id=draft.policy_id,
        format=draft.format,
        text=text,
        created_by=draft.created_by,
        updated_by=draft.updated_by,
    )
    return validate(unsaved, extra_checks, catalog=catalog)


def tests_of(draft: PolicyDraft, *, catalog: Catalog) -> list[TestResult]:
    """The draft's embedded tests through the reference; PolicyDocumentError if it cannot run."""
    return run_tests(checked(draft, catalog=catalog))


def publish(
    session: Session, draft_id: int, extra_checks: Sequence[ExtraCheck], *, by: str
) -> Publication:
    """Approve the draft (checks, extra checks, tests) and publish it, or raise with every issue
    and store nothing. Publishing a document that is the latest version already stores nothing
    new (`created` is False); the draft then records that version as the one it became. It is
    checked under the declaration in force."""
    draft = get(session, draft_id, for_update=True)
    in_force = catalogs.current(session)
    approved = service.approve(
        document(draft, catalog=in_force), source_of(draft), extra_checks, catalog=in_force
    )
    published = service.publish(session, approved, by=by)
    if draft.published_version != published.version.version:
        before = _state(draft)
        draft.published_version = published.version.version
        session.flush()
        _audit(session, draft, "policy.draft.published", by, before=before)
    return published


def _state(draft: PolicyDraft) -> dict[str, object]:
    return {
        "policy_id": draft.policy_id,
        "format": str(draft.format),
        "text_sha256": hashlib.sha256(draft.text.encode("utf-8")).hexdigest(),
        "published_version": draft.published_version,
    }


def _audit(
    session: Session, draft: PolicyDraft, action: str, by: str, before: dict[str, object] | None
) -> None:
    audit.record(
        session,
        actor=by,
        action=action,
        subject=f"policy-draft:{draft.id}",
        before=before,
        after=_state(draft),
    )
