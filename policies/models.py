"""Stored policies: one row per policy with its lifecycle state, one immutable row per version.

A version holds the whole document as canonical JSON with its hash, so what was published can be
read back byte for byte; changing a published policy means publishing a new version. A draft is
an officer's text as sent (YAML or JSON), stored while it is still being written. Suspending or
closing a policy is a request one officer makes and another confirms (`PolicyActionRequest`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from subsidy.db import UTCDateTime, identifier, utcnow


class PolicyState(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class Policy(SQLModel, table=True):
    """`title` is the latest version's Chinese title (the default language), `title_en` its
    English one (the Chinese again when the document has none), so lists need no document."""

    __tablename__ = "policy"

    id: str = Field(sa_column=Column(identifier(64), primary_key=True))
    title: str
    title_en: str
    state: PolicyState = Field(sa_column=Column(String(16), nullable=False))
    latest_version: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))

    def title_in(self, language: str) -> str:
        return self.title_en if language == "en" else self.title


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


class DraftFormat(StrEnum):
    YAML = "yaml"
    JSON = "json"


class PolicyDraft(SQLModel, table=True):
    """An officer's policy text, kept exactly as sent, errors and all, until it is published.

    `policy_id` is the id the text declares (None while it declares none); `published_version`
    is the version of that policy the draft became, after which the text no longer changes.
    """

    __tablename__ = "policy_draft"
    __table_args__ = (Index("ix_policy_draft_policy_id", "policy_id"),)

    id: int | None = Field(default=None, primary_key=True)
    policy_id: str | None = Field(default=None, sa_column=Column(identifier(), nullable=True))
    format: DraftFormat = Field(sa_column=Column(String(8), nullable=False))
    text: str = Field(sa_column=Column(Text(), nullable=False))
    created_by: str
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    updated_by: str
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    published_version: int | None = None


class PolicyAction(StrEnum):
    """A lifecycle change that takes two officers, named by its verb."""

    SUSPEND = "suspend"
    CLOSE = "close"

    @property
    def to(self) -> PolicyState:
        return PolicyState.SUSPENDED if self is PolicyAction.SUSPEND else PolicyState.CLOSED


class RequestStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    WITHDRAWN = "withdrawn"


PENDING_ONLY = text("status = 'pending'")


class PolicyActionRequest(SQLModel, table=True):
    """One officer's request to suspend or close a policy, with why, until another officer
    confirms it (the change is made) or its requester withdraws it. A policy has at most one
    pending request. Actors are `<role>:<subject>`."""

    __tablename__ = "policy_action_request"
    __table_args__ = (
        Index(
            "uq_policy_action_request_pending",
            "policy_id",
            unique=True,
            sqlite_where=PENDING_ONLY,
            postgresql_where=PENDING_ONLY,
        ),
        Index("ix_policy_action_request_status", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    policy_id: str = Field(
        sa_column=Column(identifier(64), ForeignKey("policy.id"), nullable=False)
    )
    action: PolicyAction = Field(sa_column=Column(String(16), nullable=False))
    reason: str = Field(sa_column=Column(Text(), nullable=False))
    status: RequestStatus = Field(sa_column=Column(String(16), nullable=False))
    requested_by: str
    requested_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    decided_by: str | None = None
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
