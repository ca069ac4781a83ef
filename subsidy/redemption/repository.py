"""Queries and the atomic budget reservation."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from subsidy.redemption.models import PolicyBudget, Redemption


def by_key(session: Session, uscc: str, key: str) -> Redemption | None:
    query = select(Redemption).where(
        col(Redemption.uscc) == uscc, col(Redemption.idempotency_key) == key
    )
    return session.execute(query).scalars().first()


def by_policy(session: Session, uscc: str, policy_id: str) -> Redemption | None:
    query = select(Redemption).where(
        col(Redemption.uscc) == uscc, col(Redemption.policy_id) == policy_id
    )
    return session.execute(query).scalars().first()


def by_group(session: Session, uscc: str, group: str) -> Redemption | None:
    query = select(Redemption).where(
        col(Redemption.uscc) == uscc, col(Redemption.group_key) == group
    )
    return session.execute(query).scalars().first()


def of_firm(session: Session, uscc: str) -> list[Redemption]:
    query = select(Redemption).where(col(Redemption.uscc) == uscc).order_by(col(Redemption.id))
    return list(session.execute(query).scalars())


def reserve(session: Session, policy_id: str, budget: Decimal, amount: Decimal) -> bool:
    """Add `amount` to the policy's reserved total unless that would pass `budget`.

    One conditional UPDATE: concurrent reservations serialise on the row, and the condition is
    checked against the committed total, so no interleaving can overspend."""
    dialect = postgresql if session.connection().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(PolicyBudget)
        .values(policy_id=policy_id, budget=budget, reserved=Decimal("0.00"))
        .on_conflict_do_nothing(index_elements=["policy_id"])
    )
    reserved = col(PolicyBudget.reserved)
    result = session.execute(
        update(PolicyBudget)
        .where(col(PolicyBudget.policy_id) == policy_id, reserved + amount <= budget)
        .values(reserved=reserved + amount, budget=budget)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
