"""Redemption requests and answers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, Field

from subsidy.api.params import RequestModel


class RedeemIn(RequestModel):
    policy_id: str = Field(min_length=1, max_length=64)


class RedemptionOut(BaseModel):
    id: int
    uscc: str
    policy_id: str
    policy_version: int
    amount: Decimal
    status: str
    created_at: dt.datetime
