"""Appending to the audit chain and proving it intact.

Each entry's MAC (the `hash` column) is HMAC-SHA256 under the audit key (`QINQING_AUDIT_KEY`,
held outside the database) over the previous entry's MAC and the entry's own canonical JSON
(time, actor, action, subject, before, after). Changing, removing or reordering any entry breaks
every MAC after it, and without the key nobody can compute them again. `verify` names the first
entry that does not hold, and checks the chain against the signed checkpoints written outside
the database (`checkpoints`), which catch a chain cut short or rolled back.

Chains begun before the key (migration 0013) were plain SHA-256: the migration appends one keyed
`audit.seal` entry after them. Entries before the first seal are checked as plain SHA-256 and
the seal's MAC covers their head, so rewriting any of them breaks the seal; everything from the
seal on (or everything, in a chain without one) must carry a MAC.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlmodel import Session, col

from subsidy.audit import checkpoints
from subsidy.audit._mac import AuditKey
from subsidy.audit._mac import current_key as current_key  # the CLI names the key
from subsidy.audit.models import AuditEntry, AuditHead
from subsidy.db import utcnow

GENESIS = "0" * 64
SEAL = "audit.seal"
"""The keyed entry migration 0013 appends after a chain of plain SHA-256 entries."""


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
    key, at, previous, rows = current_key(), utcnow(), head.hash, []
    for change in changes:
        before, after = _canonical(change.before or {}), _canonical(change.after or {})
        body = _body(at, actor, change.action, change.subject, before, after)
        digest = key.mac(previous, body)
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
        ids = session.execute(insert(AuditEntry).returning(col(AuditEntry.id)), rows).scalars()
        checkpoints.after_commit(session, max(ids), previous)


def appended(session: Session, entry_id: int, mac: str) -> None:
    """What SQL that appended an entry itself (`sql_entry`) reports: the head to checkpoint."""
    checkpoints.after_commit(session, entry_id, mac)


def checkpoint(session: Session, into: Path | None = None) -> checkpoints.Checkpoint | None:
    """Write a checkpoint of the chain's newest entry now (None: the chain is empty)."""
    query = select(col(AuditEntry.id), col(AuditEntry.hash)).order_by(col(AuditEntry.id).desc())
    newest = session.execute(query.limit(1)).first()
    if newest is None:
        return None
    mark = checkpoints.signed(int(newest[0]), str(newest[1]), current_key())
    checkpoints.write(mark, into)
    return mark


def entry_mac(entry: AuditEntry, key: AuditKey) -> str:
    return key.mac(entry.previous_hash, _entry_body(entry))


def plain_hash(entry: AuditEntry) -> str:
    """How entries were chained before the audit key: SHA-256 alone (anyone can recompute it)."""
    return hashlib.sha256((entry.previous_hash + _entry_body(entry)).encode()).hexdigest()


def _entry_body(entry: AuditEntry) -> str:
    return _body(entry.at, entry.actor, entry.action, entry.subject, entry.before, entry.after)


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
    (PostgreSQL computes the HMAC with its own sha256 from the key's two pads): the MAC'd body
    is `body_head` + the id + `body_tail`, and the stored subject is `subject_prefix` + the id.
    The statement reports the entry's id and MAC back through `appended`."""

    at: datetime
    actor: str
    action: str
    subject_prefix: str
    before: str
    after: str
    body_head: str
    body_tail: str
    inner_pad: bytes
    outer_pad: bytes


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
    inner, outer = current_key().pads
    return SqlEntry(
        at, actor, action, subject_prefix, before_json, after_json, head, tail, inner, outer
    )


@dataclass(frozen=True)
class Verdict:
    entries: int
    first_broken: int | None
    reason: str | None
    checkpoint: str | None = None
    """The checkpoint (`file:line`) the reason is about, if it is about one."""
    checkpoints: int = 0
    """How many checkpoints the chain was checked against."""


def verify(session: Session, folder: Path | None = None, key: AuditKey | None = None) -> Verdict:
    """The keyed chain recomputed entry by entry, and held against every checkpoint in `folder`
    (default the setting's): the first entry or checkpoint that does not hold is named."""
    key = key or current_key()
    marks: dict[int, list[checkpoints.Mark]] = {}
    forged: checkpoints.Forged | None = None
    counted = 0
    for found in checkpoints.read(key, folder):
        if isinstance(found, checkpoints.Forged):
            forged = forged or found
        else:
            marks.setdefault(found.checkpoint.entry, []).append(found)
            counted += 1
    seal = session.execute(
        select(func.min(AuditEntry.id)).where(col(AuditEntry.action) == SEAL)
    ).scalar()
    previous, count = GENESIS, 0
    for entry in session.execute(select(AuditEntry).order_by(col(AuditEntry.id))).scalars():
        count += 1
        assert entry.id is not None
        broken = _broken(entry, previous, key, keyed=seal is None or entry.id >= seal)
        if broken is not None:
            return Verdict(count, entry.id, broken, checkpoints=counted)
        for mark in marks.pop(entry.id, []):
            if mark.checkpoint.mac != entry.hash:
                reason = "its MAC differs from the checkpoint's: the chain was rewritten after it"
                return Verdict(count, entry.id, reason, mark.place, counted)
        previous = entry.hash
    if marks:
        lost = marks[min(marks)][0]
        reason = (
            f"entry {lost.checkpoint.entry} is gone: the chain was cut short or rolled back "
            "past this checkpoint"
        )
        return Verdict(count, None, reason, lost.place, counted)
    head = session.get(AuditHead, 1)
    if head is not None and head.hash != previous:
        return Verdict(count, None, "entries after the last one were removed", None, counted)
    if forged is not None:
        return Verdict(count, None, forged.why, forged.place, counted)
    return Verdict(count, None, None, None, counted)


def _broken(entry: AuditEntry, previous: str, key: AuditKey, *, keyed: bool) -> str | None:
    if entry.previous_hash != previous:
        return "it does not follow the entry before it"
    if keyed and entry_mac(entry, key) != entry.hash:
        return (
            "its content does not match its MAC (rewritten without the audit key, or "
            "QINQING_AUDIT_KEY is not the key the chain was written under)"
        )
    if not keyed and plain_hash(entry) != entry.hash:
        return "its content does not match its hash"
    return None


# --- migration 0013 --------------------------------------------------------------------------


def seal_legacy_chain(connection: Connection, key: AuditKey | None = None) -> int | None:
    """Append the keyed `audit.seal` entry after a chain of plain SHA-256 entries (migration
    0013); the seal's id, or None when there is nothing to seal. Only the columns every
    revision since 0008 has are touched."""
    key = key or current_key()
    count = connection.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    head = connection.execute(
        select(col(AuditHead.hash)).where(col(AuditHead.id) == 1).with_for_update()
    ).scalar()
    if not count or head is None:
        return None
    at, actor, subject = utcnow(), "system:migration-0013", "audit-chain"
    before = _canonical({"scheme": "sha256", "entries": count, "head": head})
    after = _canonical({"scheme": "hmac-sha256", "key": key.id})
    mac = key.mac(head, _body(at, actor, SEAL, subject, before, after))
    row = {"at": at, "actor": actor, "action": SEAL, "subject": subject}
    row |= {"before": before, "after": after, "previous_hash": head, "hash": mac}
    sealed = connection.execute(insert(AuditEntry).returning(col(AuditEntry.id)), [row])
    connection.execute(
        update(AuditHead).where(col(AuditHead.id) == 1).values(previous=head, hash=mac)
    )
    sealed_id: int | None = sealed.scalar_one()
    assert sealed_id is not None
    return sealed_id


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=_plain)


def _plain(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
