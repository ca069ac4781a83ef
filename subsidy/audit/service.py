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
        before, after = _canonical(change.before or {}), _canonical(change.after or {})
        body = _body(at, actor, change.action, change.subject, before, after)
        digest = hashlib.sha256((previous + body).encode()).hexdigest()
        rows.append(
            {
                "at": at,
                "actor": actor,
                "action": change.action,
                "subject": change.subject,
                "before": before,
                "after": after,
                "previous_hash": previous,
                "hash": digest,
            }
        )
        previous = digest
    head.previous, head.hash = head.hash, previous
    session.flush()
    if rows:
        session.execute(insert(AuditEntry), rows)


def entry_hash(entry: AuditEntry) -> str:
    body = _body(entry.at, entry.actor, entry.action, entry.subject, entry.before, entry.after)
    return hashlib.sha256((entry.previous_hash + body).encode()).hexdigest()


def _body(at: datetime, actor: str, action: str, subject: str, before: str, after: str) -> str:
    return _canonical(
        {
            "at": at.isoformat(),
            "actor": actor,
            "action": action,
            "subject": subject,
            "before": before,
            "after": after,
        }
    )


@dataclass(frozen=True)
class SqlEntry:
    """An entry to append inside one SQL statement, where the subject's id is only known there
    (PostgreSQL computes the hash with its own sha256): the hashed body is `body_head` + the id
    + `body_tail`, and the stored subject is `subject_prefix` + the id."""

    at: datetime
    actor: str
    action: str
    subject_prefix: str
    before: str
    after: str
    body_head: str
    body_tail: str


def sql_entry(
    *,
    actor: str,
    action: str,
    subject_prefix: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> SqlEntry:
    at, before_json, after_json = utcnow(), _canonical(before or {}), _canonical(after or {})
    marker = "\x00"  # JSON writes it as \u0000, which nothing else in the body can contain
    body = _body(at, actor, action, subject_prefix + marker, before_json, after_json)
    head, tail = body.split("\\u0000")
    return SqlEntry(at, actor, action, subject_prefix, before_json, after_json, head, tail)


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
