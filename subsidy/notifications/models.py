"""The outbox: one row per thing a firm must be told, delivered at most once.

A firm is told once per policy and kind ("you qualify", "it was granted to you"), whatever
the number of matches that find it again: the unique constraint is that promise.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from subsidy.db import Money, UTCDateTime, identifier, utcnow


class Kind(StrEnum):
    QUALIFIED = "qualified"
    GRANTED = "granted"


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("uscc", "policy_id", "kind", name="uq_notification_once"),
        Index("ix_notification_pending", "delivered_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uscc: str = Field(sa_column=Column(identifier(18), nullable=False))
    policy_id: str = Field(
        sa_column=Column(identifier(64), ForeignKey("policy.id"), nullable=False)
    )
    kind: Kind = Field(sa_column=Column(String(16), nullable=False))
    amount: Decimal = Field(sa_column=Column(Money(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    delivered_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
