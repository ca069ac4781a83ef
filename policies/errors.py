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

A policy's own test cases failing is not an error: `policies.testing` returns results as data,
so a caller can show every failure, not just the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from subsidy.errors import QinqingError


@dataclass(frozen=True)
class Issue:
    """One problem in a policy document, placed as precisely as we can (editors jump to it)."""

    source: str
    field: str
    line: int | None
    column: int | None
    message: str

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


class PolicyDocumentError(PolicyError):
    """The document was refused; `issues` holds every problem found, not only the first."""

    def __init__(self, source: str, issues: Sequence[Issue]) -> None:
        self.source = source
        self.issues = list(issues)
        lines = "\n".join(str(issue) for issue in self.issues)
        count = len(self.issues)
        super().__init__(f"{source}: {count} problem{'s' if count != 1 else ''}\n{lines}")


class DraftNotFoundError(PolicyError):
    """No stored draft with that id."""


class DraftPublishedError(PolicyError):
    """The draft became a published version; what was published stays as it was."""


class ActionRequestError(PolicyError):
    """Base of the refusals of suspend and close requests (`policies.lifecycle`)."""


class RequestNotFoundError(ActionRequestError):
    """No policy action request with that id."""


class ReasonError(ActionRequestError):
    """A request needs a reason the second officer can judge (and the audit trail keeps)."""


class RequestPendingError(ActionRequestError):
    """A policy has one pending request at a time: confirm or withdraw it first."""


class RequestDecidedError(ActionRequestError):
    """The request is confirmed or withdrawn; nothing more can happen to it."""


class SameOfficerError(ActionRequestError):
    """The officer who requested a change cannot confirm it, under any role."""


class NotRequesterError(ActionRequestError):
    """Only the officer who made a request can withdraw it."""
