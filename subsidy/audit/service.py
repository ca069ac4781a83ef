"""Appending to the audit chain and proving it intact.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's own canonical JSON
(time, actor, action, subject, before, after), so changing, removing or reordering any entry
breaks every hash after it; `verify` names the first entry that does not hold.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session, col

from subsidy.audit.models import AuditEntry, AuditHead
from subsidy.db import utcnow

GENESIS = "0" * 64


@dataclass(frozen=True)
class Change:
    """One state change to record: what happened to which subject, before and after."""

    action: str
    subject: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append one entry in the caller's transaction (the head row is locked until it commits)."""
    record_many(session, actor=actor, changes=[Change(action, subject, before, after)])


def record_many(session: Session, *, actor: str, changes: Sequence[Change]) -> None:
    """Append one entry per change, chained in order, under a single lock of the head row.

    Callers that record many changes at once (automatic grants, payout batches) take the chain's
    lock once instead of once per entry."""
    head = (
        session.execute(select(AuditHead).where(col(AuditHead.id) == 1).with_for_update())
        .scalars()
        .first()
    )
    if head is None:
        head = AuditHead(id=1, hash=GENESIS)
        session.add(head)
    at, previous, rows = utcnow(), head.hash, []
    for change in changes:
        entry = AuditEntry(
            at=at,
            actor=actor,
            action=change.action,
            subject=change.subject,
            before=_canonical(change.before or {}),
            after=_canonical(change.after or {}),
            previous_hash=previous,
            hash="",
        )
        entry.hash = previous = entry_hash(entry)
        rows.append(entry.model_dump(exclude={"id"}))
    head.hash = previous
    session.flush()
    if rows:
        session.execute(insert(AuditEntry), rows)


def entry_hash(entry: AuditEntry) -> str:
    body = {
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "before": entry.before,
        "after": entry.after,
    }
    return hashlib.sha256((entry.previous_hash + _canonical(body)).encode()).hexdigest()


@dataclass(frozen=True)
class Verdict:
    entries: int
    first_broken: int | None
    reason: str | None


def verify(session: Session) -> Verdict:
    previous, count = GENESIS, 0
    for entry in session.execute(select(AuditEntry).order_by(col(AuditEntry.id))).scalars():
        count += 1
        if entry.previous_hash != previous:
            return Verdict(count, entry.id, "it does not follow the entry before it")
        if entry_hash(entry) != entry.hash:
            return Verdict(count, entry.id, "its content does not match its hash")
        previous = entry.hash
    head = session.get(AuditHead, 1)
    if head is not None and head.hash != previous:
        return Verdict(count, None, "entries after the last one were removed")
    return Verdict(count, None, None)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=_plain)


def _plain(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
