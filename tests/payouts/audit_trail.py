"""Reading the audit trail back in tests."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from subsidy.audit import service as audit
from subsidy.audit.models import AuditEntry


def entries(engine: Engine, subject: str) -> list[dict[str, Any]]:
    """The entries about `subject`, oldest first, before/after decoded."""
    with Session(engine) as session:
        query = (
            select(AuditEntry)
            .where(col(AuditEntry.subject) == subject)
            .order_by(col(AuditEntry.id))
        )
        return [
            {
                "actor": e.actor,
                "action": e.action,
                "before": json.loads(e.before),
                "after": json.loads(e.after),
            }
            for e in session.execute(query).scalars()
        ]


def last(engine: Engine, subject: str) -> dict[str, Any]:
    found = entries(engine, subject)
    assert found, f"nothing audited about {subject}"
    return found[-1]


def chain_intact(engine: Engine) -> bool:
    with Session(engine) as session:
        return audit.verify(session).reason is None
