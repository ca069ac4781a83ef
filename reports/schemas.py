"""Report job answers."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class JobOut(BaseModel):
    id: int
    kind: str
    state: str
    """queued, running, done or failed."""
    stage: str
    parameters: dict[str, str | None]
    """The report's filter: from, to, policy."""
    rows_total: int
    rows_done: int
    progress: float
    """rows_done / rows_total, 0..1 (1 when done)."""
    requested_by: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    error: str | None
    file: str | None
    """Where to download the workbook, once done."""
