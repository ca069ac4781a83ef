"""What the audit trail's endpoints answer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel

from subsidy.audit.queries import Shown
from subsidy.audit.service import Verdict


class AuditEntryOut(BaseModel):
    """One entry, its personal data masked; `hash` is its MAC in the chain."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    subject: str
    before: Any
    after: Any
    hash: str

    @classmethod
    def of(cls, entry: Shown) -> AuditEntryOut:
        return cls(
            id=entry.id,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            subject=entry.subject,
            before=entry.before,
            after=entry.after,
            hash=entry.hash,
        )


class VerdictOut(BaseModel):
    """What `qinqing audit verify` says: intact, or the first entry or checkpoint that is not."""

    intact: bool
    entries: int
    checkpoints: int
    first_broken: int | None
    checkpoint: str | None
    reason: str | None

    @classmethod
    def of(cls, verdict: Verdict) -> VerdictOut:
        return cls(
            intact=verdict.reason is None,
            entries=verdict.entries,
            checkpoints=verdict.checkpoints,
            first_broken=verdict.first_broken,
            checkpoint=verdict.checkpoint,
            reason=verdict.reason,
        )
