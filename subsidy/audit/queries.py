"""Reading the audit trail: entries filtered by subject, actor, action and time, a page at a
time, with their personal data masked (`subsidy.masking`), as auditors read them.

A filter value ending in `*` matches as a prefix (`finance:*`, `payout.*`, `redemption:*`);
any other value matches exactly. Times are aware; `until` is exclusive.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from subsidy.audit.models import AuditEntry
from subsidy.masking import PERSONAL_FIELDS, mask
from subsidy.settings import get_settings

MASKED_KEYS = PERSONAL_FIELDS | {"account", "account_override"}
"""Keys of an entry's before / after shown masked (accounts recorded before masking was the
rule, or by SQL of its own, are masked here too; a masked value stays as it was)."""


@dataclass(frozen=True)
class Filter:
    subject: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Shown:
    """One entry as an auditor sees it."""

    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    before: Any
    after: Any
    hash: str


def _matching(column: Any, value: str) -> Any:
    if value.endswith("*"):
        prefix = value[:-1]
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return column.like(escaped + "%", escape="\\")
    return column == value


def _where(query: Any, wanted: Filter) -> Any:
    if wanted.subject:
        query = query.where(_matching(col(AuditEntry.subject), wanted.subject))
    if wanted.actor:
        query = query.where(_matching(col(AuditEntry.actor), wanted.actor))
    if wanted.action:
        query = query.where(_matching(col(AuditEntry.action), wanted.action))
    if wanted.since is not None:
        query = query.where(col(AuditEntry.at) >= wanted.since)
    if wanted.until is not None:
        query = query.where(col(AuditEntry.at) < wanted.until)
    return query


def entries(
    session: Session, wanted: Filter, *, offset: int, limit: int
) -> tuple[list[Shown], int]:
    """A page of the matching entries, newest first, and how many match."""
    total = session.execute(_where(select(func.count()).select_from(AuditEntry), wanted))
    query = _where(select(AuditEntry), wanted).order_by(col(AuditEntry.id).desc())
    found = session.execute(query.offset(offset).limit(limit)).scalars()
    return [shown(e) for e in found], int(total.scalar_one())


def every(session: Session, wanted: Filter) -> Iterator[Shown]:
    """Every matching entry in chain order (id), read in chunks: for an export."""
    after = 0
    while True:
        query = (
            _where(select(AuditEntry), wanted)
            .where(col(AuditEntry.id) > after)
            .order_by(col(AuditEntry.id))
            .limit(get_settings().report_query_chunk)
        )
        chunk = list(session.execute(query).scalars())
        if not chunk:
            return
        yield from (shown(e) for e in chunk)
        after = chunk[-1].id or after


def shown(entry: AuditEntry) -> Shown:
    assert entry.id is not None
    return Shown(
        entry.id,
        entry.at,
        entry.actor,
        entry.action,
        entry.subject,
        masked(_parsed(entry.before)),
        masked(_parsed(entry.after)),
        entry.hash,
    )


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def masked(value: Any) -> Any:
    """`value` with every personal field masked, at any depth."""
    if isinstance(value, dict):
        return {
            k: mask(str(v)) if k in MASKED_KEYS and v is not None else masked(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value
