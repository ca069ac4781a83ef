"""The officer's pages: the policies with their funnels, suspending or closing one (asked by
one officer, confirmed by another), the drafts, and the draft editor (live checks as the
officer types; save, test, preview over the whole registry, publish).

The same services and roles as the API's /api/v1/policies and /api/v1/policy-drafts
(`policies.service.EDITORS` change, `READERS` and `policies.drafts.READERS` read). A refusal is
a `PageRefusal` (the unit of work rolls back), except where the editor keeps a save (see
`draft_action`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import nullcontext
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from matching import preview as previewing
from matching.service import compile_issues
from policies import drafts, lifecycle
from policies import service as policy_service
from policies.errors import NotRequesterError, PolicyDocumentError, PolicyError, SameOfficerError
from policies.models import DraftFormat, PolicyAction, PolicyDraft
from subsidy.actors import person
from subsidy.api.params import PolicyId, RowId
from subsidy.api.security import DbSession
from subsidy.auth import Principal, Role
from subsidy.errors import QinqingError
from subsidy.registry import catalog as catalogs
from subsidy.settings import get_settings
from subsidy.web import views
from subsidy.web.paging import pager
from subsidy.web.session import page_rate_limited
from subsidy.web.shared import (
    Csrf,
    DraftReader,
    Officer,
    PageRefusal,
    PolicyReader,
    back,
    not_found,
    refused,
)
from subsidy.web.templating import language, render

router = APIRouter(include_in_schema=False)

PreviewLimit = Depends(page_rate_limited("preview"))
Text = Annotated[str, Form(max_length=1 << 20)]


@router.get("/officer/policies", response_class=HTMLResponse)
def policies(
    request: Request, me: PolicyReader, session: DbSession, done: str | None = None
) -> HTMLResponse:
    paged = pager(request, policy_service.count_policies(session))
    context = {
        "policies": policy_service.policies(session, offset=paged.offset, limit=paged.size),
        "pager": paged,
        "funnels": views.funnels(session),
        # Pending suspend and close requests: what the API shows officers and auditors.
        "requests": lifecycle.requests(session) if me.role != Role.FINANCE else [],
        "person": person,
        "done": done,
    }
    return render(request, "officer_policies.html", context, me=me)


@router.post("/officer/policies/{policy_id}/{verb}", dependencies=[Csrf])
def request_policy_change(
    request: Request,
    policy_id: PolicyId,
    verb: str,
    me: Officer,
    session: DbSession,
    reason: Annotated[str, Form(max_length=lifecycle.MAX_REASON)] = "",
) -> Response:
    """Ask another officer to suspend or close a policy (`verb`), with a reason."""
    action = next((a for a in PolicyAction if a == verb), None)
    if action is None:
        return not_found(request, me)
    by = me.actor
    return _policy_step(
        request,
        me,
        lambda: lifecycle.request(session, policy_id, action, reason=reason, by=by).id,
        "requested",
    )


@router.post("/officer/policy-requests/{request_id}/confirm", dependencies=[Csrf])
def confirm_policy_change(
    request: Request, request_id: RowId, me: Officer, session: DbSession
) -> Response:
    """Make the requested change, as an officer other than the one who asked."""
    by = me.actor
    return _policy_step(
        request,
        me,
        lambda: lifecycle.confirm(session, request_id, by=by)[0].id,
        "confirmed",
    )


@router.post("/officer/policy-requests/{request_id}/withdraw", dependencies=[Csrf])
def withdraw_policy_change(
    request: Request, request_id: RowId, me: Officer, session: DbSession
) -> Response:
    by = me.actor
    return _policy_step(
        request,
        me,
        lambda: lifecycle.withdraw(session, request_id, by=by).id,
        "withdrawn",
    )


def _policy_step(
    request: Request, me: Principal, step: Callable[[], int | None], done: str
) -> Response:
    try:
        request_id = step()
    except PolicyError as exc:
        two_officers = isinstance(exc, SameOfficerError | NotRequesterError)
        refusal = exc.message_in(language(request))
        raise refused(request, me, refusal, "/officer/policies", two_officers=two_officers) from exc
    return back(f"/officer/policies?done={done}:{request_id}")


# --- the officer: drafts and the editor ------------------------------------------------------


@router.get("/officer/drafts", response_class=HTMLResponse)
def draft_list(request: Request, me: DraftReader, session: DbSession) -> HTMLResponse:
    paged = pager(request, drafts.count(session))
    context = {
        "drafts": drafts.drafts(session, offset=paged.offset, limit=paged.size),
        "pager": paged,
        "policies": policy_service.policies(session),  # to start a draft from any of them
    }
    return render(request, "officer_drafts.html", context, me=me)


@router.post("/officer/drafts", dependencies=[Csrf])
def new_draft(
    me: Officer, session: DbSession, start: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    """A new draft: the blank template, or the latest version of policy `start` as YAML."""
    text = (views.latest_as_yaml(session, start) if start else None) or views.BLANK
    draft = drafts.create(session, text, DraftFormat.YAML, by=me.actor)
    return back(f"/officer/drafts/{draft.id}")


@router.get("/officer/drafts/{draft_id}", response_class=HTMLResponse)
def editor(request: Request, draft_id: RowId, me: DraftReader, session: DbSession) -> HTMLResponse:
    try:
        draft = drafts.get(session, draft_id)
    except PolicyError:
        return not_found(request, me)
    catalog = catalogs.current(session)
    issues = drafts.validate(draft, [compile_issues], catalog=catalog)
    context = {
        "draft": draft,
        "issues": issues,
        "lines": draft.text.count("\n") + 1,
        "columns": views.available_data(catalog, language(request)),
    }
    return render(request, "officer_editor.html", context, me=me)


@router.post("/officer/drafts/{draft_id}/check", dependencies=[Csrf])
def check_draft(
    request: Request, draft_id: RowId, me: Officer, session: DbSession, text: Text
) -> Response:
    """Live validation as the officer types: the issues of the unsaved text, each at its line."""
    try:
        draft = drafts.get(session, draft_id)
    except PolicyError as exc:
        return _partial(request, me, refusal=exc.message_in(language(request)))
    issues = drafts.validate_text(draft, text, [compile_issues], catalog=catalogs.current(session))
    lines = text.count("\n") + 1
    return render(request, "_issues.html", {"issues": issues, "lines": lines, "oob": True}, me=me)


@router.post("/officer/drafts/{draft_id}/preview", dependencies=[PreviewLimit, Csrf])
def draft_preview(
    request: Request,
    draft_id: int,
    me: Officer,
    session: DbSession,
    text: Text,
    as_of: Annotated[dt.date | None, Form()] = None,
) -> Response:
    """Save the editor's text, then preview it: a run over the whole registry, rate limited."""
    return draft_action(request, draft_id, "preview", me, session, text, as_of)


@router.post("/officer/drafts/{draft_id}/{action}", dependencies=[Csrf])
def draft_action(
    request: Request,
    draft_id: RowId,
    action: str,
    me: Officer,
    session: DbSession,
    text: Text,
    as_of: Annotated[dt.date | None, Form()] = None,
) -> Response:
    """Save the editor's text, then test, preview or publish it (`action`; a preview comes
    through `draft_preview`, declared first, which is rate limited).

    The save stays whatever the step comes to: after a save the step runs in a savepoint, so a
    refused preview or publication undoes only what it flushed itself. With nothing saved
    (a published draft, the same text again) there is nothing to keep, and no savepoint: on
    SQLite one opened before the transaction's first write would commit when released."""
    if action not in ACTIONS:
        return not_found(request, me)
    draft, saved = _save(request, me, session, draft_id, text)
    try:
        with session.begin_nested() if saved else nullcontext():
            return _step(request, me, session, draft, action, as_of)
    except QinqingError as exc:
        if not saved:
            raise PageRefusal(_explained(request, me, exc)) from exc
        return _explained(request, me, exc)


ACTIONS = ("save", "test", "preview", "publish")


def _save(
    request: Request, me: Principal, session: DbSession, draft_id: int, text: str
) -> tuple[PolicyDraft, bool]:
    """The draft with the editor's text stored (a published draft keeps its own), and whether
    that changed it; a refused save is a `PageRefusal`."""
    try:
        draft = drafts.get(session, draft_id)
        if draft.published_version is not None:
            return draft, False
        changes = draft.text != text  # the same text again, `replace` stores nothing
        return drafts.replace(session, draft_id, text, draft.format, by=me.actor), changes
    except QinqingError as exc:
        raise PageRefusal(_explained(request, me, exc)) from exc


def _step(
    request: Request,
    me: Principal,
    session: DbSession,
    draft: PolicyDraft,
    action: str,
    as_of: dt.date | None,
) -> HTMLResponse:
    """What `action` says of the saved draft: its issues, its tests, a preview, its publication."""
    if action == "save":
        issues = drafts.validate(draft, [compile_issues], catalog=catalogs.current(session))
        return _partial(request, me, saved=True, issues=issues)
    if action == "test":
        results = drafts.tests_of(draft, catalog=catalogs.current(session))
        return _partial(request, me, results=results)
    if action == "preview":
        checked = drafts.checked(draft, [compile_issues], catalog=catalogs.current(session))
        day = as_of or get_settings().business_date
        report = previewing.preview(session, get_settings().data_dir, checked.document, day)
        chart = views.bars(report.by_district.to_dicts())
        return _partial(request, me, preview=report, chart=chart)
    assert draft.id is not None  # a stored draft
    published = drafts.publish(session, draft.id, [compile_issues], by=me.actor)
    return _partial(request, me, published=published)


def _explained(request: Request, me: Principal, exc: QinqingError) -> HTMLResponse:
    """Why the draft was refused: every issue at its line, or the refusal in words."""
    if isinstance(exc, PolicyDocumentError):
        return _partial(request, me, issues=exc.issues)
    return _partial(request, me, refusal=exc.message_in(language(request)))


def _partial(request: Request, me: Principal, **context: object) -> HTMLResponse:
    return render(request, "_result.html", context, me=me)
