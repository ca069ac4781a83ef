"""What the matching endpoints answer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from policies.schemas import WordsOut


class ClauseOut(BaseModel):
    text: str
    value: bool | None
    error: str | None
    reads: dict[str, Any]


class QualificationOut(BaseModel):
    policy_id: str
    policy_version: int
    title: str = Field(description="The title in the default language (Chinese).")
    titles: WordsOut = Field(description="The title in each language.")
    summary: WordsOut | None = Field(description="Who gets how much, in each language.")
    amount: Decimal
    mode: str
    group: str | None
    valid_until: dt.date
    matched_as_of: dt.date
    explanation: list[ClauseOut]


class DistrictOut(BaseModel):
    district: str | None
    firms: int
    amount: Decimal


class SectionOut(BaseModel):
    section: str | None
    """The GB/T 4754 section: the industry code's letter."""
    firms: int
    amount: Decimal


class ClauseStopOut(BaseModel):
    clause: str
    firms: int
    """Firms of the registry on which this top-level clause of the eligibility does not hold."""


class ChangesOut(BaseModel):
    """Against the published version, both evaluated on the same current registry."""

    version: int
    gained: int
    lost: int
    changed_amount: int


class ErrorExampleOut(BaseModel):
    uscc: str
    error: str


class PreviewOut(BaseModel):
    draft_id: int
    policy_id: str
    as_of: dt.date
    firms: int
    qualified: int
    total: Decimal
    budget: Decimal
    errors: int
    error_examples: list[ErrorExampleOut]
    """A few firms the rules raise on, with the error (e.g. a division by zero)."""
    by_district: list[DistrictOut]
    by_section: list[SectionOut]
    clause_stops: list[ClauseStopOut]
    changes: ChangesOut | None


class ExplanationOut(BaseModel):
    uscc: str
    policy_id: str
    policy_version: int
    policy_state: str
    as_of: dt.date
    qualifies: bool
    amount: Decimal | None
    amount_before_cap: Decimal | None
    cap: Decimal | None
    error: str | None
    clauses: list[ClauseOut]
