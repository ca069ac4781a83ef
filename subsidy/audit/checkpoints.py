"""Signed checkpoints of the chain's head, appended to files outside the database.

The keyed chain stops whoever can write the database from rewriting an entry, but not from
cutting the chain short or restoring an older copy of it: a shorter chain is still a valid
chain. A checkpoint remembers (entry id, MAC) of the head at a moment, signed under the audit
key, in a directory the database cannot reach (`QINQING_AUDIT_CHECKPOINT_DIR`). `verify` then
wants every checkpointed entry present with the MAC it had.

A transaction that appended entries writes one checkpoint after it commits (one line, however
many entries: a payout batch of thousands writes one); `qinqing audit checkpoint` writes one on
demand. Files are one per UTC day (`YYYY-MM-DD.jsonl`), only ever appended to, one JSON object
a line; the lines of concurrent writers may interleave out of id order, which verify does not
mind.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from subsidy.audit._mac import AuditKey, current_key
from subsidy.db import utcnow
from subsidy.settings import get_settings

_PENDING = "audit.checkpoint"
"""`Session.info` key: the head (entry id, MAC) the open transaction appended up to."""

log = logging.getLogger("qinqing.audit")


@dataclass(frozen=True)
class Checkpoint:
    entry: int
    mac: str
    at: datetime
    key: str
    """The id of the key that signed it (`AuditKey.id`)."""
    signature: str

    @property
    def statement(self) -> str:
        return f"{self.entry}\n{self.mac}\n{self.at.isoformat()}\n{self.key}"

    def line(self) -> str:
        fields = {
            "entry": self.entry,
            "mac": self.mac,
            "at": self.at.isoformat(),
            "key": self.key,
            "signature": self.signature,
        }
        return json.dumps(fields, separators=(",", ":")) + "\n"


def signed(entry: int, mac: str, key: AuditKey, at: datetime | None = None) -> Checkpoint:
    unsigned = Checkpoint(entry, mac, at or utcnow(), key.id, "")
    return Checkpoint(entry, mac, unsigned.at, key.id, key.sign(unsigned.statement))


def directory() -> Path:
    return get_settings().audit_checkpoints


def write(checkpoint: Checkpoint, into: Path | None = None) -> Path:
    """Append one line to today's file: a single `write` in append mode, so concurrent writers
    (worker processes) never interleave within a line."""
    folder = into or directory()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{checkpoint.at:%Y-%m-%d}.jsonl"
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, checkpoint.line().encode())
    finally:
        os.close(descriptor)
    return path


@dataclass(frozen=True)
class Mark:
    """A checkpoint as read back, with where it was (`file:line`)."""

    place: str
    checkpoint: Checkpoint


@dataclass(frozen=True)
class Forged:
    """A line that is no checkpoint signed under the key."""

    place: str
    why: str


def read(key: AuditKey, folder: Path | None = None) -> Iterator[Mark | Forged]:
    """Every line of every checkpoint file, in file and line order, checked against the key."""
    folder = folder or directory()
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8", errors="replace") as lines:
            for number, text in enumerate(lines, start=1):
                yield _checked(f"{path}:{number}", text, key)


def _checked(place: str, text: str, key: AuditKey) -> Mark | Forged:
    try:
        fields = json.loads(text)
        found = Checkpoint(
            entry=int(fields["entry"]),
            mac=str(fields["mac"]),
            at=datetime.fromisoformat(fields["at"]),
            key=str(fields["key"]),
            signature=str(fields["signature"]),
        )
    except (ValueError, KeyError, TypeError):
        return Forged(
            place, "it is not a checkpoint (a JSON object with entry, mac, at, key, signature)"
        )
    if found.key != key.id:
        return Forged(
            place,
            f"it is signed under key {found.key}, not the configured QINQING_AUDIT_KEY "
            f"({key.id}); verify with the key the chain was written under",
        )
    if not hmac.compare_digest(key.sign(found.statement), found.signature):
        return Forged(place, "its signature does not match the audit key: it was forged")
    return Mark(place, found)


# --- after the commit ------------------------------------------------------------------------


def after_commit(session: Session, entry: int, mac: str) -> None:
    """Checkpoint (entry, MAC) once `session`'s transaction commits; a later call in the same
    transaction replaces it (the newest head is the one to keep)."""
    session.info[_PENDING] = (entry, mac)


@event.listens_for(Session, "after_commit")
def _write_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    try:
        entry, mac = pending
        write(signed(entry, mac, current_key()))
    except OSError:
        # The change is committed: failing the request now would report a committed change as
        # failed. The next commit's checkpoint covers this head too.
        log.exception("could not write the audit checkpoint of entry %s", pending[0])


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
