"""Queries for stored policies, versions and drafts."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from policies.models import Policy, PolicyDraft, PolicyVersion


def get(session: Session, policy_id: str, *, for_update: bool = False) -> Policy | None:
    """The policy row; `for_update` locks it so that concurrent publishes serialise."""
    query = select(Policy).where(col(Policy.id) == policy_id)
    if for_update:
        query = query.with_for_update()
    return session.execute(query).scalars().first()


def list_all(session: Session) -> list[Policy]:
    return list(session.execute(select(Policy).order_by(col(Policy.id))).scalars())


def versions(session: Session, policy_id: str) -> list[PolicyVersion]:
    query = (
        select(PolicyVersion)
        .where(col(PolicyVersion.policy_id) == policy_id)
        .order_by(col(PolicyVersion.version))
    )
    return list(session.execute(query).scalars())


def version(session: Session, policy_id: str, number: int) -> PolicyVersion | None:
    query = select(PolicyVersion).where(
        col(PolicyVersion.policy_id) == policy_id, col(PolicyVersion.version) == number
    )
    return session.execute(query).scalars().first()


def draft(session: Session, draft_id: int, *, for_update: bool = False) -> PolicyDraft | None:
    """A stored draft; `for_update` locks it while it is replaced or published."""
    query = select(PolicyDraft).where(col(PolicyDraft.id) == draft_id)
    if for_update:
        query = query.with_for_update()
    return session.execute(query).scalars().first()


def drafts(session: Session, policy_id: str | None = None) -> list[PolicyDraft]:
    """Drafts, newest first; those declaring `policy_id` only, when given."""
    query = select(PolicyDraft).order_by(col(PolicyDraft.id).desc())
    if policy_id is not None:
        query = query.where(col(PolicyDraft.policy_id) == policy_id)
    return list(session.execute(query).scalars())
