"""Redemptions and the budgets they reserve from.

The database itself holds the guarantees: one redemption per firm and policy, one per firm and
exclusivity group, one per firm and idempotency key (unique constraints), and a budget row whose
reserved amount only grows by a conditional update that cannot pass the budget.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from subsidy.db import Money, UTCDateTime, identifier, utcnow


class RedemptionStatus(StrEnum):
    """held -> approved -> paying -> paid; returned goes back to finance; reversed is final."""

    HELD = "held"  # a risk rule holds it: an officer other than its maker must approve it
    APPROVED = "approved"  # payable, waiting for a payout batch
    PAYING = "paying"  # in a payout batch
    PAID = "paid"
    RETURNED = "returned"  # the bank refused or returned it; finance corrects and retries
    REVERSED = "reversed"


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
        Index("ix_redemption_status", "status"),
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
    status: RedemptionStatus = Field(sa_column=Column(String(16), nullable=False))
    idempotency_key: str = Field(sa_column=Column(String(128), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    changed_by: str = Field(default="", sa_column=Column(String(128), nullable=False))
    """Who made the last change a checker must confirm (maker-checker): its creator, or whoever
    corrected its payment details; that person can never approve it."""
    account_override: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    """The bank account finance corrected for this redemption after a return; payouts use it
    instead of the registry's."""


class FirmFlag(SQLModel, table=True):
    """A firm under review: every new redemption of a flagged firm is held for approval."""

    __tablename__ = "firm_flag"

    uscc: str = Field(sa_column=Column(identifier(18), primary_key=True))
    reason: str
    flagged_by: str
    flagged_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
