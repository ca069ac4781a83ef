"""Report jobs: an export too large to answer in one request runs as a Celery task.

A job is queued by the request, run by `reports.tasks`, and its row says how far it got; the
finished workbook lies in the data directory under `file_name`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, String, Text
from sqlmodel import Field, SQLModel

from subsidy.db import UTCDateTime, utcnow


class JobState(StrEnum):
    """queued -> running -> done | failed."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ReportJob(SQLModel, table=True):
    __tablename__ = "report_job"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    parameters: str = Field(sa_column=Column(Text(), nullable=False))
    """The report's filter as JSON: {"from": ..., "to": ..., "policy": ...}."""
    state: JobState = Field(sa_column=Column(String(16), nullable=False))
    stage: str = Field(default="queued", sa_column=Column(String(64), nullable=False))
    rows_total: int = 0
    """Ledger rows the report will hold, counted when the job was queued."""
    rows_done: int = 0
    requested_by: str = Field(sa_column=Column(String(128), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    started_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    file_name: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))
    error: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
