"""Appending to the audit chain and proving it intact.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's own canonical JSON
(time, actor, action, subject, before, after), so changing, removing or reordering any entry
breaks every hash after it; `verify` names the first entry that does not hold.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from subsidy.audit.models import AuditEntry, AuditHead
from subsidy.db import utcnow

GENESIS = "0" * 64


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (the head row is locked until it commits)."""
    head = (
        session.execute(select(AuditHead).where(col(AuditHead.id) == 1).with_for_update())
        .scalars()
        .first()
    )
    if head is None:
        head = AuditHead(id=1, hash=GENESIS)
        session.add(head)
    entry = AuditEntry(
        at=utcnow(),
        actor=actor,
        action=action,
        subject=subject,
        before=_canonical(before or {}),
        after=_canonical(after or {}),
        previous_hash=head.hash,
        hash="",
    )
    entry.hash = entry_hash(entry)
    head.hash = entry.hash
    session.add(entry)
    session.flush()
    return entry


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
