"""HTTP for policy officers: drafts (save, validate, test, publish) and the policy lifecycle.

Everything `qinqing policy ...` does, over HTTP. A draft's body is the raw document,
`application/yaml` (or `text/yaml`, `application/x-yaml`) or `application/json`, stored exactly as
sent. Like the CLI, the router is built by the assembly with the checks other domains add before
a publication (the matcher's "I can compile it"), so this domain imports none of them; the routes
that need the matcher (preview, explain) live in `matching.officer_endpoints`.

Writes are the officer's; officers and auditors read drafts and action requests; finance reads
policies too. Suspending or closing is a request one officer makes
(`POST /policies/{id}/suspend-requests`, `.../close-requests`) and another confirms
(`POST /policy-action-requests/{id}/confirm`); its requester may withdraw it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlmodel import Session

from policies import drafts, lifecycle, limits, service
from policies.errors import (
    Issue,
    PolicyDocumentError,
)
from policies.models import DraftFormat, PolicyAction, PolicyDraft, RequestStatus
from policies.schemas import (
    ActionRequestIn,
    ActionRequestOut,
    ConfirmedOut,
    DraftOut,
    DraftSummaryOut,
    IssueOut,
    PolicyOut,
    PublicationOut,
    SavedDraftOut,
    TestResultOut,
    TestRunOut,
    ValidationOut,
    VersionOut,
)
from policies.service import ExtraCheck
from subsidy.api.openapi import answers
from subsidy.api.paging import MAX_SIZE, PageNumber, PageSize, Paging, with_total
from subsidy.api.params import PolicyId, PolicyIdQuery, RowId, Version, control_in_text
from subsidy.api.problems import ProblemError
from subsidy.api.security import DbSession, allow
from subsidy.auth import Principal
from subsidy.registry import catalog as catalogs

PREFIX = "/api/v1"

Officer = Annotated[Principal, Depends(allow(*service.EDITORS))]
DraftReader = Annotated[Principal, Depends(allow(*drafts.READERS))]
PolicyReader = Annotated[Principal, Depends(allow(*service.READERS))]

MEDIA_TYPES = {
    "application/yaml": DraftFormat.YAML,
    "application/x-yaml": DraftFormat.YAML,
    "text/yaml": DraftFormat.YAML,
    "application/json": DraftFormat.JSON,
}
MAX_DOCUMENT_BYTES = limits.MAX_DOCUMENT_BYTES
"""A policy document is a few kilobytes; the body is refused (413) once it reads past the bound
(`policies.limits`, which the parser also keeps)."""


# --- problems --------------------------------------------------------------------------------


class UnknownVersion(ProblemError):
    status, slug, title = 404, "unknown-version", "No such version of the policy"


class UnsupportedMediaType(ProblemError):
    status, slug, title = 415, "unsupported-media-type", "Send the document as YAML or JSON"


class DocumentTooLarge(ProblemError):
    status, slug, title = 413, "document-too-large", "The document is too large"


# --- the document in the request body --------------------------------------------------------


@dataclass(frozen=True)
class SentDocument:
    text: str
    format: DraftFormat


async def sent_document(request: Request) -> SentDocument:
    """The request body as a policy text: YAML or JSON by Content-Type, UTF-8, at most 256 KiB."""
    media, _, parameters = (request.headers.get("content-type") or "").partition(";")
    fmt = MEDIA_TYPES.get(media.strip().lower())
    if fmt is None:
        sent = repr(media.strip()) if media.strip() else "missing"
        raise UnsupportedMediaType(f"Content-Type {sent}: send one of {', '.join(MEDIA_TYPES)}")
    charset = _charset(parameters)
    if charset not in (None, "utf-8", "utf8"):
        raise UnsupportedMediaType(f"charset {charset!r}: send the document as UTF-8")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_DOCUMENT_BYTES:
            raise DocumentTooLarge(fields={"limit": MAX_DOCUMENT_BYTES})
    return SentDocument(_decoded(bytes(body), drafts.source_name(None, fmt)), fmt)


def _charset(parameters: str) -> str | None:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


def _decoded(body: bytes, source: str) -> str:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = body.rfind(b"\n", 0, exc.start) + 1
        line = body.count(b"\n", 0, exc.start) + 1
        column = len(body[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        issue = Issue(source, "", line, column, f"not UTF-8: byte {body[exc.start]:#04x}")
        raise PolicyDocumentError(source, [issue]) from exc
    if control_in_text(text):  # NUL cannot be stored; YAML and JSON allow none of them raw
        at = next(i for i, char in enumerate(text) if control_in_text(char))
        line, column = text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1
        message = f"a control character {ord(text[at]):#04x}: remove it"
        raise PolicyDocumentError(source, [Issue(source, "", line, column, message)])
    return text


Document = Annotated[SentDocument, Depends(sent_document)]

_RAW_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The policy document, YAML or JSON (see docs/DESIGN.md).",
        "content": {
            media: {"schema": {"type": "object" if fmt is DraftFormat.JSON else "string"}}
            for media, fmt in MEDIA_TYPES.items()
        },
    }
}


# --- the router ------------------------------------------------------------------------------


def build_router(extra_checks: Sequence[ExtraCheck] = ()) -> APIRouter:
    """The draft and lifecycle routes, with the checks a validation and a publication add."""
    router = APIRouter(prefix=PREFIX, tags=["policies"])

    def saved(draft: PolicyDraft, session: Session) -> SavedDraftOut:
        checked = validation(draft, session)
        return SavedDraftOut(**DraftOut.of(draft).model_dump(), validation=checked)

    def validation(draft: PolicyDraft, session: Session) -> ValidationOut:
        """Checked under the declaration in force (its columns are what rules may read)."""
        issues = drafts.validate(draft, extra_checks, catalog=catalogs.current(session))
        return ValidationOut(
            valid=not issues, policy_id=draft.policy_id, issues=[IssueOut.of(i) for i in issues]
        )

    @router.post(
        "/policy-drafts",
        response_model=SavedDraftOut,
        status_code=201,
        openapi_extra=_RAW_BODY,
        responses=answers(415),
    )
    def create_draft(
        me: Officer, document: Document, session: DbSession, response: Response
    ) -> SavedDraftOut:
        """Store a draft (it may still have problems: its validation lists them). Text that is
        not a YAML or JSON mapping is refused with the line and column of the error."""
        draft = drafts.create(session, document.text, document.format, by=me.actor)
        response.headers["Location"] = f"{PREFIX}/policy-drafts/{draft.id}"
        return saved(draft, session)

    @router.get("/policy-drafts", response_model=list[DraftSummaryOut])
    def list_drafts(
        _: DraftReader,
        session: DbSession,
        response: Response,
        policy_id: PolicyIdQuery = None,
        page: PageNumber = 1,
        size: PageSize = MAX_SIZE,
    ) -> list[DraftSummaryOut]:
        """Drafts, newest first (those declaring `policy_id` only, when given); a page of them,
        the number of drafts in `X-Total-Count`."""
        paging = Paging(page, size)
        with_total(response, drafts.count(session, policy_id))
        found = drafts.drafts(session, policy_id, offset=paging.offset, limit=paging.size)
        return [DraftSummaryOut.of(d) for d in found]

    @router.get("/policy-drafts/{draft_id}", response_model=DraftOut)
    def one_draft(draft_id: RowId, _: DraftReader, session: DbSession) -> DraftOut:
        return DraftOut.of(drafts.get(session, draft_id))

    @router.put(
        "/policy-drafts/{draft_id}",
        response_model=SavedDraftOut,
        openapi_extra=_RAW_BODY,
        responses=answers(409, 415),
    )
    def replace_draft(
        draft_id: RowId, me: Officer, document: Document, session: DbSession
    ) -> SavedDraftOut:
        """Replace the draft's text (refused once it is published)."""
        draft = drafts.replace(session, draft_id, document.text, document.format, by=me.actor)
        return saved(draft, session)

    @router.post("/policy-drafts/{draft_id}/validate", response_model=ValidationOut)
    def validate_draft(draft_id: RowId, _: DraftReader, session: DbSession) -> ValidationOut:
        """Schema, rules against the registry's types, and what publishing also checks (the
        matcher can compile it). Answers every issue; `valid` when there are none."""
        return validation(drafts.get(session, draft_id), session)

    @router.post("/policy-drafts/{draft_id}/test", response_model=TestRunOut)
    def run_draft_tests(draft_id: RowId, _: DraftReader, session: DbSession) -> TestRunOut:
        """The draft's embedded tests through the reference evaluator, each passed or failed
        with why. A document whose rules do not check cannot run: 422 with its issues."""
        draft = drafts.get(session, draft_id)
        results = drafts.tests_of(draft, catalog=catalogs.current(session))
        failed = sum(not r.passed for r in results)
        return TestRunOut(
            policy_id=draft.policy_id,
            passed=len(results) - failed,
            failed=failed,
            results=[TestResultOut.of(r) for r in results],
        )

    @router.post(
        "/policy-drafts/{draft_id}/publish",
        response_model=PublicationOut,
        status_code=201,
        responses=answers(409),
    )
    def publish_draft(
        draft_id: RowId, me: Officer, session: DbSession, response: Response
    ) -> PublicationOut:
        """Check, test and publish the draft as the policy's next version (201). If the document
        is the latest version already, 200 and nothing new. Not publishable: 422 with every
        issue, and nothing is stored."""
        published = drafts.publish(session, draft_id, extra_checks, by=me.actor)
        version = published.version
        location = f"{PREFIX}/policies/{version.policy_id}/versions/{version.version}"
        response.headers["Location"] = location
        if not published.created:
            response.status_code = 200
        return PublicationOut(
            draft_id=draft_id,
            created=published.created,
            policy=PolicyOut.of(published.policy),
            version=VersionOut.of(version),
        )

    @router.get("/policies", response_model=list[PolicyOut])
    def list_policies(
        _: PolicyReader,
        session: DbSession,
        response: Response,
        page: PageNumber = 1,
        size: PageSize = MAX_SIZE,
    ) -> list[PolicyOut]:
        """The policies with their state and latest version, a page of them by id; how many
        there are in `X-Total-Count`."""
        paging = Paging(page, size)
        with_total(response, service.count_policies(session))
        found = service.policies(session, offset=paging.offset, limit=paging.size)
        return [PolicyOut.of(p) for p in found]

    @router.get("/policies/{policy_id}", response_model=PolicyOut)
    def one_policy(policy_id: PolicyId, _: PolicyReader, session: DbSession) -> PolicyOut:
        policy, _versions = service.history(session, policy_id)
        return PolicyOut.of(policy)

    @router.get("/policies/{policy_id}/versions", response_model=list[VersionOut])
    def versions(policy_id: PolicyId, _: PolicyReader, session: DbSession) -> list[VersionOut]:
        _policy, found = service.history(session, policy_id)
        return [VersionOut.of(v) for v in found]

    @router.get(
        "/policies/{policy_id}/versions/{version}",
        response_class=Response,
        responses={200: {"content": {"application/json": {}}, "description": "The document"}},
    )
    def one_version(
        policy_id: PolicyId, version: Version, _: PolicyReader, session: DbSession
    ) -> Response:
        """The document exactly as published (canonical JSON, numbers exact); its ETag is the
        version's content hash, the SHA-256 of this body."""
        _policy, found = service.history(session, policy_id)
        chosen = next((v for v in found if v.version == version), None)
        if chosen is None:
            raise UnknownVersion(fields={"policy_id": policy_id, "version": version})
        return Response(
            chosen.document,
            media_type="application/json",
            headers={"ETag": f'"{chosen.content_hash}"'},
        )

    def request_route(action: PolicyAction) -> None:
        @router.post(
            f"/policies/{{policy_id}}/{action}-requests",
            response_model=ActionRequestOut,
            status_code=201,
            responses=answers(403, 409),
            name=f"request_{action}",
            description=f"Ask another officer to {action} the policy, with a reason; nothing "
            "changes until one confirms (`/policy-action-requests/{id}/confirm`). 409 when the "
            "policy's state does not allow it or it has a pending request.",
        )
        def make_request(
            policy_id: PolicyId,
            body: ActionRequestIn,
            me: Officer,
            session: DbSession,
            response: Response,
        ) -> ActionRequestOut:
            found = lifecycle.request(session, policy_id, action, reason=body.reason, by=me.actor)
            response.headers["Location"] = f"{PREFIX}/policy-action-requests/{found.id}"
            return ActionRequestOut.of(found)

    request_route(PolicyAction.SUSPEND)
    request_route(PolicyAction.CLOSE)

    @router.get("/policy-action-requests", response_model=list[ActionRequestOut])
    def action_requests(
        _: DraftReader, session: DbSession, status: RequestStatus | None = RequestStatus.PENDING
    ) -> list[ActionRequestOut]:
        """Requests to suspend or close, newest first: the pending ones unless `status` says
        otherwise."""
        return [ActionRequestOut.of(r) for r in lifecycle.requests(session, status)]

    @router.get("/policy-action-requests/{request_id}", response_model=ActionRequestOut)
    def one_action_request(
        request_id: RowId, _: DraftReader, session: DbSession
    ) -> ActionRequestOut:
        return ActionRequestOut.of(lifecycle.get(session, request_id))

    @router.post(
        "/policy-action-requests/{request_id}/confirm",
        response_model=ConfirmedOut,
        responses=answers(403, 409),
    )
    def confirm(request_id: RowId, me: Officer, session: DbSession) -> ConfirmedOut:
        """Make the requested change, as an officer other than the requester (403
        maker-checker otherwise, whatever the role the same person holds)."""
        found, policy = lifecycle.confirm(session, request_id, by=me.actor)
        return ConfirmedOut(request=ActionRequestOut.of(found), policy=PolicyOut.of(policy))

    @router.post(
        "/policy-action-requests/{request_id}/withdraw",
        response_model=ActionRequestOut,
        responses=answers(403, 409),
    )
    def withdraw(request_id: RowId, me: Officer, session: DbSession) -> ActionRequestOut:
        """The requester takes the request back; the policy stays as it is."""
        return ActionRequestOut.of(lifecycle.withdraw(session, request_id, by=me.actor))

    return router
