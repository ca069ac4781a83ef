"""What the matching endpoints answer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import BaseModel


class ClauseOut(BaseModel):
    text: str
    value: bool | None
    error: str | None
    reads: dict[str, Any]


class QualificationOut(BaseModel):
    policy_id: str
    policy_version: int
    title: str
    amount: Decimal
    mode: str
    group: str | None
    valid_until: dt.date
    matched_as_of: dt.date
    explanation: list[ClauseOut]
