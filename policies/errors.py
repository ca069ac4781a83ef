"""The errors of the policy domain: a document that cannot be loaded or checked.

    QinqingError
    └── PolicyError                 anything the policy domain refuses
        ├── PolicyDocumentError     a policy document is malformed or its rules do not check;
        │                           `.issues` lists every problem with file, line, column, field
        ├── DraftNotFoundError      no stored draft with that id
        ├── DraftPublishedError     the draft was published; its text no longer changes
        └── ActionRequestError      a request to suspend or close a policy cannot go on
            ├── RequestNotFoundError    no such request
            ├── ReasonError             the reason is empty or too long
            ├── RequestPendingError     the policy has a pending request already
            ├── RequestDecidedError     the request was confirmed or withdrawn already
            ├── SameOfficerError        its requester cannot confirm it (maker-checker)
            └── NotRequesterError       only its requester can withdraw it

(`service.PolicyNotFoundError` and `service.PolicyStateError` are policy errors too.)

Each class has its code (`policy.<what>`); each `Issue` has its own (`policy.unknown_symbol`,
`policy.syntax`, ...) with the fields its words name, so the editor shows every problem in the
officer's language (`Issue.shown`) while `str(issue)` stays the English a log or the CLI reads.

A policy's own test cases failing is not an error: `policies.testing` returns results as data,
so a caller can show every failure, not just the first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from subsidy import i18n
from subsidy.errors import QinqingError, counted, english, key_of, read_back, worded

_CLAUSES = ("eligibility", "amount")
READ_BACK = ("policy.document_too_large", "policy.document_nests")
"""The codes an issue built from another module's words (no code of its own) may read back."""


@dataclass(frozen=True)
class Issue:
    """One problem in a policy document, placed as precisely as we can (editors jump to it)."""

    source: str
    field: str
    line: int | None
    column: int | None
    message: str
    code: str = dataclasses.field(default="policy.issue", compare=False)
    fields: Mapping[str, object] = dataclasses.field(
        default_factory=dict, compare=False, hash=False
    )

    @classmethod
    def coded(
        cls,
        source: str,
        field: str,
        line: int | None,
        column: int | None,
        code: str,
        /,
        **fields: object,
    ) -> Issue:
        """An issue with its code: its message is the code's English words with `fields`."""
        assert i18n.has("en", key_of(code)), f"issue code {code} has no words in errors.po"
        return cls(source, field, line, column, english(code, fields), code, fields)

    def message_in(self, language: i18n.Language) -> str:
        """What is wrong, in `language` (an issue without its own words keeps its message)."""
        code, fields = self.code, self.fields or {"detail": self.message}
        if code == "policy.issue":  # words written elsewhere: a guard's or a limit's, perhaps
            code, fields = read_back(self.message, READ_BACK) or (code, fields)
        return worded(language, code, fields, self.message)

    def shown(self, language: i18n.Language) -> str:
        """The issue as the editor lists it: line, column, field and what is wrong, in
        `language` (`第 14 行，第 14 列：资格条件中有未知的名称 'statu'……`)."""
        message = self.message_in(language)
        if self.field in _CLAUSES:
            clause = i18n.text(language, f"error_field.{self.field}")
            message = i18n.text(language, "error_place.in_clause", clause=clause, message=message)
        elif self.field:
            message = i18n.text(language, "error_place.in_field", field=self.field, message=message)
        if self.line is None:
            return message
        if self.column is None:
            return i18n.text(language, "error_place.line", line=self.line, message=message)
        return i18n.text(
            language, "error_place.line_column", line=self.line, column=self.column, message=message
        )

    def __str__(self) -> str:
        place = self.source
        if self.line is not None:
            place += f":{self.line}"
            if self.column is not None:
                place += f":{self.column}"
        prefix = f"{self.field}: " if self.field else ""
        return f"{place}: {prefix}{self.message}"


class PolicyError(QinqingError):
    """Base of the policy domain's errors."""

    code = "policy.refused"


class PolicyDocumentError(PolicyError):
    """The document was refused; `issues` holds every problem found, not only the first."""

    code = "policy.document_refused"
    variants = ("policy.document_refused_one",)
    status, slug, title = 422, "invalid-policy", "The policy document is not valid"

    def __init__(self, source: str, issues: Sequence[Issue]) -> None:
        self.source = source
        self.issues = list(issues)
        count = len(self.issues)
        code = "policy.document_refused_one" if count == 1 else type(self).code
        super().__init__(code=code, source=source, count=count)
        lines = "\n".join(str(issue) for issue in self.issues)
        self.args = (f"{super().__str__()}\n{lines}",)

    def message_in(self, language: i18n.Language) -> str:
        lines = [issue.shown(language) for issue in self.issues]
        return "\n".join([super().message_in(language), *lines])

    @property
    def detail(self) -> str:
        return counted(self.source, len(self.issues))

    def extra(self) -> dict[str, object]:
        """Every issue placed for the editor (line and column 1-based)."""
        placed = [
            {"field": i.field, "line": i.line, "column": i.column, "message": i.message}
            for i in self.issues
        ]
        return {"issues": placed}


class DraftNotFoundError(PolicyError):
    """No stored draft with that id."""

    code = "policy.draft_not_found"
    status, slug, title = 404, "unknown-draft", "No such policy draft"


class DraftPublishedError(PolicyError):
    """The draft became a published version; what was published stays as it was."""

    code = "policy.draft_published"
    status, slug, title = 409, "draft-published", "The draft is published and cannot change"


class ActionRequestError(PolicyError):
    """Base of the refusals of suspend and close requests (`policies.lifecycle`)."""

    code = "policy.request_refused"


class RequestNotFoundError(ActionRequestError):
    """No policy action request with that id."""

    code = "policy.request_not_found"
    status, slug = 404, "unknown-policy-action-request"
    title = "No such policy action request"


class ReasonError(ActionRequestError):
    """A request needs a reason the second officer can judge (and the audit trail keeps)."""

    code = "policy.reason_missing"
    status, slug, title = 422, "invalid-reason", "The request needs a reason"
    variants = ("policy.reason_too_long",)


class RequestPendingError(ActionRequestError):
    """A policy has one pending request at a time: confirm or withdraw it first."""

    code = "policy.request_pending"
    status, slug, title = 409, "request-pending", "The policy has a pending request already"
    terms: ClassVar[Mapping[str, str]] = {"action": "action."}  # 暂停 / 关闭, not suspend


class RequestDecidedError(ActionRequestError):
    """The request is confirmed or withdrawn; nothing more can happen to it."""

    code = "policy.request_decided"
    status, slug, title = 409, "request-decided", "The request was confirmed or withdrawn"
    states: ClassVar[Mapping[str, str]] = {"status": "request"}


class SameOfficerError(ActionRequestError):
    """The officer who requested a change cannot confirm it, under any role."""

    code = "policy.same_officer"
    status, slug, title = 403, "maker-checker", "Whoever made the change cannot check it"
    terms: ClassVar[Mapping[str, str]] = {"action": "action."}  # 暂停 / 关闭, not suspend


class NotRequesterError(ActionRequestError):
    """Only the officer who made a request can withdraw it."""

    code = "policy.not_requester"
    status, slug, title = 403, "not-requester", "Only the requester can withdraw a request"
