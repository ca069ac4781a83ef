"""What the policy endpoints answer (a draft's body is the raw document, not a model)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from policies.document import Localized
from policies.errors import Issue
from policies.lifecycle import MAX_REASON
from policies.models import Policy, PolicyActionRequest, PolicyDraft, PolicyVersion
from policies.testing import TestResult
from subsidy.api.params import RequestModel


class IssueOut(BaseModel):
    """One problem in a document, placed for the editor (line and column are 1-based)."""

    field: str
    line: int | None
    column: int | None
    message: str

    @classmethod
    def of(cls, issue: Issue) -> IssueOut:
        return cls(field=issue.field, line=issue.line, column=issue.column, message=issue.message)


class ValidationOut(BaseModel):
    valid: bool
    policy_id: str | None
    issues: list[IssueOut]


class DraftSummaryOut(BaseModel):
    id: int
    policy_id: str | None
    format: str
    created_by: str
    created_at: dt.datetime
    updated_by: str
    updated_at: dt.datetime
    published_version: int | None

    @classmethod
    def of(cls, draft: PolicyDraft) -> DraftSummaryOut:
        return cls.model_validate(draft, from_attributes=True)


class DraftOut(DraftSummaryOut):
    text: str
    """The document exactly as the officer sent it."""

    @classmethod
    def of(cls, draft: PolicyDraft) -> DraftOut:
        return cls.model_validate(draft, from_attributes=True)


class SavedDraftOut(DraftOut):
    validation: ValidationOut


class ExpectedOut(BaseModel):
    eligible: bool
    amount: Decimal | None


class OutcomeOut(BaseModel):
    qualifies: bool
    amount: Decimal | None
    error: str | None


class TestResultOut(BaseModel):
    __test__ = False  # not a pytest class, despite the name

    name: str
    passed: bool
    message: str
    expected: ExpectedOut
    got: OutcomeOut

    @classmethod
    def of(cls, result: TestResult) -> TestResultOut:
        return cls(
            name=result.name,
            passed=result.passed,
            message=result.message,
            expected=ExpectedOut(eligible=result.expected.eligible, amount=result.expected.amount),
            got=OutcomeOut(
                qualifies=result.got.qualifies, amount=result.got.amount, error=result.got.error
            ),
        )


class TestRunOut(BaseModel):
    __test__ = False

    policy_id: str | None
    passed: int
    failed: int
    results: list[TestResultOut]


class WordsOut(BaseModel):
    """Words in each language: `zh` (Chinese, the default) and `en` (the Chinese again when the
    document gives no English)."""

    zh: str
    en: str

    @classmethod
    def of(cls, words: Localized) -> WordsOut:
        return cls(zh=words.get("zh"), en=words.get("en"))


class PolicyOut(BaseModel):
    id: str
    title: str = Field(description="The title in the default language (Chinese).")
    titles: WordsOut = Field(description="The title in each language.")
    state: str
    latest_version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, policy: Policy) -> PolicyOut:
        return cls(
            id=policy.id,
            title=policy.title,
            titles=WordsOut(zh=policy.title, en=policy.title_en),
            state=policy.state,
            latest_version=policy.latest_version,
            created_at=policy.created_at,
            updated_at=policy.updated_at,
        )


class VersionOut(BaseModel):
    policy_id: str
    version: int
    content_hash: str
    published_at: dt.datetime
    published_by: str

    @classmethod
    def of(cls, version: PolicyVersion) -> VersionOut:
        return cls.model_validate(version, from_attributes=True)


class PublicationOut(BaseModel):
    draft_id: int
    created: bool
    """False when the document was the latest version already: nothing new was stored."""
    policy: PolicyOut
    version: VersionOut


class ActionRequestIn(RequestModel):
    """Why the policy should be suspended or closed: the officer who confirms judges by it."""

    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REASON)
    ]


class ActionRequestOut(BaseModel):
    id: int
    policy_id: str
    action: str
    """`suspend` or `close`."""
    reason: str
    status: str
    """`pending`, `confirmed` or `withdrawn`."""
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None

    @classmethod
    def of(cls, found: PolicyActionRequest) -> ActionRequestOut:
        return cls.model_validate(found, from_attributes=True)


class ConfirmedOut(BaseModel):
    request: ActionRequestOut
    policy: PolicyOut
