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
