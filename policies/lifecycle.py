"""Suspending and closing a policy: requested by one officer, confirmed by another.

Closing cannot be undone and suspending stops every firm's redemptions, so neither is one
person's decision (maker-checker): an officer requests the change with a reason, any other
officer confirms it, and only then does the policy change; the requester may withdraw it until
then. "Other" means another person, not another role: actors are `<role>:<subject>`
(`subsidy.actors`) and the subjects are compared. A policy has one pending request at a time.
Each step is audited in its own transaction with the acting officer.

Locks are taken policy row first, then request row, in every step, so a request and a
confirmation racing on one policy serialise instead of deadlocking.
"""

from __future__ import annotations

from sqlmodel import Session

from policies import repository, service
from policies.errors import (
    NotRequesterError,
    ReasonError,
    RequestDecidedError,
    RequestNotFoundError,
    RequestPendingError,
    SameOfficerError,
)
from policies.models import (
    Policy,
    PolicyAction,
    PolicyActionRequest,
    RequestStatus,
)
from subsidy.actors import person
from subsidy.audit import service as audit
from subsidy.db import utcnow

MAX_REASON = 2_000
"""Characters: a paragraph for the second officer, not a document."""


def request(
    session: Session, policy_id: str, action: PolicyAction, *, reason: str, by: str
) -> PolicyActionRequest:
    """Ask for `action` on the policy; refused if its state does not allow it now or it has a
    pending request already."""
    reason = _checked_reason(reason)
    policy = service.existing(session, policy_id, for_update=True)
    service.check_change(policy, action.to)
    waiting = repository.pending_request(session, policy_id)
    if waiting is not None:
        raise RequestPendingError(
            policy_id=policy_id,
            request_id=waiting.id,
            action=str(waiting.action),
            by=waiting.requested_by,
        )
    found = PolicyActionRequest(
        policy_id=policy_id,
        action=action,
        reason=reason,
        status=RequestStatus.PENDING,
        requested_by=by,
    )
    session.add(found)
    session.flush()
    audit.record(
        session,
        actor=by,
        action=f"policy.{action}-requested",
        subject=f"policy:{policy_id}",
        before=service.audited_state(policy),
        after=_audited(found),
    )
    return found


def confirm(session: Session, request_id: int, *, by: str) -> tuple[PolicyActionRequest, Policy]:
    """Make the requested change, as an officer other than the requester."""
    policy, found = _locked_pending(session, request_id)
    if person(found.requested_by) == person(by):
        raise SameOfficerError(
            by=by,
            action=str(found.action),
            policy_id=found.policy_id,
            request_id=found.id,
            requested_by=found.requested_by,
        )
    to = PolicyAction(found.action).to  # a plain string as read from the database
    service.check_change(policy, to)
    before = service.audited_state(policy)
    now = utcnow()
    policy.state, policy.updated_at = to, now
    found.status, found.decided_by, found.decided_at = RequestStatus.CONFIRMED, by, now
    session.flush()
    audit.record(
        session,
        actor=by,
        action=f"policy.{to}",
        subject=f"policy:{policy.id}",
        before=before,
        after=service.audited_state(policy) | _audited(found),
    )
    return found, policy


def withdraw(session: Session, request_id: int, *, by: str) -> PolicyActionRequest:
    """Take back one's own pending request; nothing changes on the policy."""
    policy, found = _locked_pending(session, request_id)
    if person(found.requested_by) != person(by):
        raise NotRequesterError(request_id=found.id, requested_by=found.requested_by)
    found.status, found.decided_by, found.decided_at = RequestStatus.WITHDRAWN, by, utcnow()
    session.flush()
    audit.record(
        session,
        actor=by,
        action=f"policy.{found.action}-withdrawn",
        subject=f"policy:{policy.id}",
        before=service.audited_state(policy),
        after=_audited(found),
    )
    return found


def requests(
    session: Session, status: RequestStatus | None = RequestStatus.PENDING
) -> list[PolicyActionRequest]:
    """Requests, newest first (of one status, pending by default; None: all)."""
    return repository.action_requests(session, status)


def get(session: Session, request_id: int) -> PolicyActionRequest:
    found = repository.action_request(session, request_id)
    if found is None:
        raise RequestNotFoundError(request_id=request_id)
    return found


def _locked_pending(session: Session, request_id: int) -> tuple[Policy, PolicyActionRequest]:
    policy = service.existing(session, get(session, request_id).policy_id, for_update=True)
    found = repository.action_request(session, request_id, for_update=True)
    assert found is not None  # requests are never deleted
    if found.status != RequestStatus.PENDING:
        raise RequestDecidedError(
            request_id=found.id, status=str(found.status), by=found.decided_by
        )
    return policy, found


def _checked_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ReasonError()
    if len(reason) > MAX_REASON:
        raise ReasonError(code="policy.reason_too_long", length=len(reason), limit=MAX_REASON)
    return reason


def _audited(found: PolicyActionRequest) -> dict[str, object]:
    return {
        "request": found.id,
        "action": str(found.action),
        "reason": found.reason,
        "status": str(found.status),
        "requested_by": found.requested_by,
    }
