"""Redemptions and the budgets they reserve from.

The database itself holds the guarantees: one redemption per firm and policy, one per firm and
exclusivity group, one per firm and idempotency key (unique constraints), and a budget row whose
reserved amount only grows by a conditional update that cannot pass the budget.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, ForeignKey, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from subsidy.db import Money, UTCDateTime, identifier, utcnow

RESERVED = "reserved"


class PolicyBudget(SQLModel, table=True):
    __tablename__ = "policy_budget"

    policy_id: str = Field(
        sa_column=Column(identifier(64), ForeignKey("policy.id"), primary_key=True)
    )
    budget: Decimal = Field(sa_column=Column(Money(), nullable=False))
    reserved: Decimal = Field(sa_column=Column(Money(), nullable=False))


class Redemption(SQLModel, table=True):
    __tablename__ = "redemption"
    __table_args__ = (
        UniqueConstraint("uscc", "policy_id", name="uq_redemption_firm_policy"),
        UniqueConstraint("uscc", "group_key", name="uq_redemption_firm_group"),
        UniqueConstraint("uscc", "idempotency_key", name="uq_redemption_firm_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uscc: str = Field(sa_column=Column(identifier(18), nullable=False))
    policy_id: str = Field(
        sa_column=Column(identifier(64), ForeignKey("policy.id"), nullable=False)
    )
    policy_version: int
    group_key: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    """The policy's exclusivity group; null when it has none (nulls never collide)."""
    amount: Decimal = Field(sa_column=Column(Money(), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    idempotency_key: str = Field(sa_column=Column(String(128), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
