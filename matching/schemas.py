"""What the matching endpoints answer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from policies import plain, readings
from policies.schemas import WordsOut
from policies.validity import out_of_force
from subsidy.masking import mask_personal
from subsidy.registry.catalog import BUILTIN, Catalog


class ValueOut(BaseModel):
    """A value a labelled clause read, as the firm reads it (`policies.plain`)."""

    column: str = Field(description="The column as rules name it.")
    label: WordsOut = Field(description="The column's label in each language.")
    value: WordsOut = Field(description="The value as shown, in each language (存续 / active).")
    raw: Any = Field(description="The value as `reads` gives it.")


class ClauseOut(BaseModel):
    text: str
    value: bool | None
    error: str | None
    reads: dict[str, Any]
    """Each symbol the clause read with its value: `$today` the as-of date, dates YYYY-MM-DD,
    money as text with two decimals ("1234.50"), numbers as the policy gives them (an integer
    as an integer), a personal column (`name != null`) only as present or not."""
    kinds: dict[str, str]
    """Each read symbol's kind: money, number, date, boolean, text, records, present, list."""
    label: WordsOut | None = Field(
        default=None,
        description="What the clause means, in each language, when the policy labels its clauses.",
    )
    values: list[ValueOut] = Field(
        default=[],
        description="A labelled clause's values of the firm, under their column labels.",
    )

    @classmethod
    def of(cls, clause: Any, catalog: Catalog = BUILTIN) -> ClauseOut:
        """From a `policies.explain.ClauseResult`, personal data masked; a labelled clause with
        its label and the firm's values it read (column labels from `catalog`)."""
        label = clause.label
        values = [] if label is None else plain.plain_values(clause.reads, catalog)
        return cls(
            text=clause.text,
            value=clause.value,
            error=clause.error,
            reads=mask_personal(readings.values(clause.reads)),
            kinds={name: str(r.shape) for name, r in clause.reads.items()},
            label=None if label is None else WordsOut.of(label.words),
            values=[
                ValueOut(
                    column=v.column,
                    label=WordsOut.of(v.label),
                    value=WordsOut.of(v.text),
                    raw=v.raw,
                )
                for v in values
            ],
        )


class ValidityOut(BaseModel):
    """Whether the policy is in force on the as-of date; nobody qualifies outside its window."""

    in_force: bool
    valid_from: dt.date
    valid_to: dt.date
    text_zh: str | None
    """Why not, in Chinese (None when in force)."""
    text_en: str | None

    @classmethod
    def of(cls, document: Any, as_of: dt.date) -> ValidityOut:
        why = out_of_force(document, as_of)
        return cls(
            in_force=why is None,
            valid_from=document.valid_from,
            valid_to=document.valid_to,
            text_zh=why.text("zh") if why else None,
            text_en=why.text("en") if why else None,
        )


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
    validity: ValidityOut


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
    validity: ValidityOut
    clauses: list[ClauseOut]
