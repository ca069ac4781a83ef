"""Queries for stored policies, versions, drafts and action requests."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session, col

from policies.models import (
    Policy,
    PolicyActionRequest,
    PolicyDraft,
    PolicyVersion,
    RequestStatus,
)


def get(session: Session, policy_id: str, *, for_update: bool = False) -> Policy | None:
    """The policy row; `for_update` locks it so that concurrent publishes serialise."""
    query = select(Policy).where(col(Policy.id) == policy_id)
    if for_update:
        query = query.with_for_update()
    return session.execute(query).scalars().first()


def list_all(session: Session, *, offset: int = 0, limit: int | None = None) -> list[Policy]:
    query = select(Policy).order_by(col(Policy.id)).offset(offset).limit(limit)
    return list(session.execute(query).scalars())


def by_ids(session: Session, policy_ids: set[str]) -> list[Policy]:
    if not policy_ids:
        return []
    query = select(Policy).where(col(Policy.id).in_(sorted(policy_ids)))
    return list(session.execute(query).scalars())


def count_all(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(Policy)).scalar_one())


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


def version_hash(session: Session, policy_id: str, number: int) -> str | None:
    """The content hash of one version, without its document."""
    query = select(col(PolicyVersion.content_hash)).where(
        col(PolicyVersion.policy_id) == policy_id, col(PolicyVersion.version) == number
    )
    return session.execute(query).scalars().first()


def draft(session: Session, draft_id: int, *, for_update: bool = False) -> PolicyDraft | None:
    """A stored draft; `for_update` locks it while it is replaced or published."""
    query = select(PolicyDraft).where(col(PolicyDraft.id) == draft_id)
    if for_update:
        query = query.with_for_update()
    return session.execute(query).scalars().first()


def drafts(
    session: Session,
    policy_id: str | None = None,
    *,
    offset: int = 0,
    limit: int | None = None,
) -> list[PolicyDraft]:
    """Drafts, newest first; those declaring `policy_id` only, when given."""
    query = select(PolicyDraft).order_by(col(PolicyDraft.id).desc()).offset(offset).limit(limit)
    if policy_id is not None:
        query = query.where(col(PolicyDraft.policy_id) == policy_id)
    return list(session.execute(query).scalars())


def count_drafts(session: Session, policy_id: str | None = None) -> int:
    query = select(func.count()).select_from(PolicyDraft)
    if policy_id is not None:
        query = query.where(col(PolicyDraft.policy_id) == policy_id)
    return int(session.execute(query).scalar_one())


def action_request(
    session: Session, request_id: int, *, for_update: bool = False
) -> PolicyActionRequest | None:
    """A request; `for_update` reads it afresh and locks it while it is decided."""
    query = select(PolicyActionRequest).where(col(PolicyActionRequest.id) == request_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.execute(query).scalars().first()


def pending_request(session: Session, policy_id: str) -> PolicyActionRequest | None:
    query = select(PolicyActionRequest).where(
        col(PolicyActionRequest.policy_id) == policy_id,
        col(PolicyActionRequest.status) == RequestStatus.PENDING,
    )
    return session.execute(query).scalars().first()


def action_requests(
    session: Session, status: RequestStatus | None, limit: int = 500
) -> list[PolicyActionRequest]:
    """Newest first, at most `limit` (pending ones are a handful: one per policy at most)."""
    query = select(PolicyActionRequest).order_by(col(PolicyActionRequest.id).desc())
    if status is not None:
        query = query.where(col(PolicyActionRequest.status) == status)
    return list(session.execute(query.limit(limit)).scalars())
