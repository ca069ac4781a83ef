"""Stored policies: one row per policy with its lifecycle state, one immutable row per version.

A version holds the whole document as canonical JSON with its hash, so what was published can be
read back byte for byte; changing a published policy means publishing a new version.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from subsidy.db import UTCDateTime, identifier, utcnow


class PolicyState(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class Policy(SQLModel, table=True):
    __tablename__ = "policy"

    id: str = Field(sa_column=Column(identifier(64), primary_key=True))
    title: str
    state: PolicyState = Field(sa_column=Column(String(16), nullable=False))
    latest_version: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))


class PolicyVersion(SQLModel, table=True):
    __tablename__ = "policy_version"
    __table_args__ = (UniqueConstraint("policy_id", "version", name="uq_policy_version"),)

    id: int | None = Field(default=None, primary_key=True)
    policy_id: str = Field(
        sa_column=Column(identifier(64), ForeignKey("policy.id"), nullable=False)
    )
    version: int
    content_hash: str = Field(max_length=64)
    document: str = Field(sa_column=Column(Text(), nullable=False))
    published_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    published_by: str
