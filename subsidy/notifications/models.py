"""The outbox: one row per thing a firm must be told, delivered at most once.

A firm is told once per policy and kind ("you qualify", "it was granted to you"), whatever
the number of matches that find it again: the unique constraint is that promise.

A row is pending until it is delivered (`delivered_at`) or recorded as undelivered
(`undelivered`: why, with the relay's reply or the address problem in `undelivered_reason`); a
transient failure leaves it pending with `attempts` counted and `next_attempt_at` backed off.
Requeueing an undelivered row (after its address was corrected) makes it pending again.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from subsidy.db import Money, UTCDateTime, identifier, utcnow


class Kind(StrEnum):
    QUALIFIED = "qualified"
    GRANTED = "granted"


class Undelivered(StrEnum):
    """Why a notice could not be delivered (a state: its words are in terms.po)."""

    NO_ADDRESS = "no_address"
    """The firm has no address in the declared column (or the source has no row for it)."""
    INVALID_ADDRESS = "invalid_address"
    """The firm's address is not one a relay can take."""
    REFUSED = "refused"
    """The relay refused it for good (a 5xx reply)."""
    UNREACHABLE = "unreachable"
    """Every one of QINQING_MAIL_MAX_ATTEMPTS attempts failed for the time being (4xx, no
    connection)."""


REASON_LENGTH = 500


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("uscc", "policy_id", "kind", name="uq_notification_once"),
        Index("ix_notification_pending", "delivered_at", "id"),
        Index("ix_notification_undelivered", "undelivered", "id"),
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
    undelivered: Undelivered | None = Field(
        default=None, sa_column=Column(String(16), nullable=True)
    )
    undelivered_reason: str | None = Field(
        default=None, sa_column=Column(String(REASON_LENGTH), nullable=True)
    )
    undelivered_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    attempts: int = Field(default=0, sa_column=Column(Integer(), nullable=False, default=0))
    next_attempt_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
