"""Notification answers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel


class NotificationOut(BaseModel):
    id: int
    policy_id: str
    kind: str
    amount: Decimal
    text_zh: str
    text_en: str
    created_at: dt.datetime
    delivered_at: dt.datetime | None


class UndeliveredOut(BaseModel):
    """A notice that could not be delivered, and why (never the address itself)."""

    id: int
    uscc: str
    policy_id: str
    kind: str
    undelivered: str
    """no_address, invalid_address, refused or unreachable."""
    reason: str | None
    """The address problem, or the relay's reply (addresses in it hidden)."""
    attempts: int
    created_at: dt.datetime
    undelivered_at: dt.datetime | None
