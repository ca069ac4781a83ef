"""Stored results of matching: one run per policy per match, and the firms that qualified.

A policy's qualifications are replaced wholesale by its next run; each row points at its run,
which names the policy version, the as-of date and the registry snapshots it was computed on, so
it can be reproduced exactly.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, ForeignKey, Integer, Text
from sqlmodel import Field, SQLModel

from subsidy.db import Money, UTCDateTime, identifier, utcnow


class MatchRun(SQLModel, table=True):
    __tablename__ = "match_run"

    id: int | None = Field(default=None, primary_key=True)
    policy_id: str = Field(
        sa_column=Column(identifier(64), ForeignKey("policy.id"), nullable=False)
    )
    policy_version: int
    enterprise_snapshot_id: int
    employee_snapshot_id: int
    source_snapshots: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """The declared sources the run read, as JSON {source name: registry_snapshot id}; None
    when it read none (runs before migration 0018 too)."""
    as_of: date
    firms: int
    qualified: int
    total_amount: Decimal = Field(sa_column=Column(Money(), nullable=False))
    evaluation_errors: int
    failure: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """Why the policy could not be matched (it compiled or evaluated with an error); its
    previous qualifications then stand, and the other policies of the match are stored."""
    started_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    finished_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))


class Qualification(SQLModel, table=True):
    """A firm that qualified for a policy in the policy's latest run.

    Kept narrow on purpose (a city-scale match stores tens of millions of rows): the policy
    version, the registry snapshots and the time come from its run.
    """

    __tablename__ = "qualification"

    # The firm first: the primary key's index then also serves "what does this firm qualify for".
    uscc: str = Field(sa_column=Column(identifier(18), primary_key=True))
    policy_id: str = Field(
        sa_column=Column(identifier(64), ForeignKey("policy.id"), primary_key=True)
    )
    run_id: int = Field(sa_column=Column(Integer, ForeignKey("match_run.id"), nullable=False))
    amount: Decimal = Field(sa_column=Column(Money(), nullable=False))
