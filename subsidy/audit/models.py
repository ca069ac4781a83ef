"""Audit entries, each holding the hash of the one before it, and the chain's head."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String, Text
from sqlmodel import Field, SQLModel

from subsidy.db import UTCDateTime, utcnow


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    actor: str
    action: str = Field(sa_column=Column(String(64), nullable=False))
    subject: str
    before: str = Field(sa_column=Column(Text(), nullable=False))
    after: str = Field(sa_column=Column(Text(), nullable=False))
    previous_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """One row: the newest entry's hash. Appending locks it, so the chain never forks."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    hash: str = Field(max_length=64)
    previous: str = Field(default="0" * 64, max_length=64)
    """The hash before `hash` (what the newest entry chains to)."""
