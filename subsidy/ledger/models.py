"""Ledger entries: each moves an amount of one policy's money from one account to another.

The accounts follow the money: `budget` (not yet promised) -> `reserved` (a redemption holds it,
awaiting approval) -> `payable` (approved, owed to the firm) -> `paid` (the bank paid it), and
back: a return moves `paid` -> `payable`, a reversal sends the money back to `budget`, and a
clawback of money already paid opens a `receivable` from the firm that later payouts settle.
Every row is balanced by construction (one amount leaves `source`, the same enters `target`), so
an account's balance is what entered it minus what left it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from subsidy.db import Money, UTCDateTime, identifier, utcnow


class Account(StrEnum):
    BUDGET = "budget"
    RESERVED = "reserved"
    PAYABLE = "payable"
    PAID = "paid"
    RECEIVABLE = "receivable"


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ledger_entry"
    __table_args__ = (
        Index("ix_ledger_policy", "policy_id"),
        Index("ix_ledger_redemption", "redemption_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    policy_id: str = Field(sa_column=Column(identifier(64), nullable=False))
    uscc: str = Field(sa_column=Column(identifier(18), nullable=False))
    redemption_id: int = Field(
        sa_column=Column(Integer, ForeignKey("redemption.id"), nullable=False)
    )
    payout_item_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    source: Account = Field(sa_column=Column(String(16), nullable=False))
    target: Account = Field(sa_column=Column(String(16), nullable=False))
    amount: Decimal = Field(sa_column=Column(Money(), nullable=False))
    memo: str = Field(sa_column=Column(String(64), nullable=False))
