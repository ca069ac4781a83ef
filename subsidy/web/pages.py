"""The portal's pages: a thin HTTP layer over the same services as the API.

Every page route declares its roles with `allow_page(...)`, the same roles the API gives the
matching endpoint; every POST also passes `csrf_checked`. A request's session is the API's
`DbSession` (it commits once the handler returns); a refusal the page explains rolls it back
first, so nothing a refused service flushed is committed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from matching import preview as previewing
from matching.service import compile_issues
from payouts import errors as payout_errors
from payouts import queries, receipts, reconcile, retry
from policies import drafts, lifecycle
from policies import service as policy_service
from policies.errors import NotRequesterError, PolicyDocumentError, PolicyError, SameOfficerError
from policies.models import DraftFormat, PolicyAction
from reports import service as report_service
from reports.errors import JobFileMissing, JobNotReady, ReportError
from reports.models import ReportJob
from subsidy.actors import person
from subsidy.api.params import PolicyId, RowId
from subsidy.api.security import DbSession
from subsidy.auth import AuthenticationError, Principal, Role
from subsidy.db import utcnow
from subsidy.errors import QinqingError
from subsidy.identity.errors import IdentityRefused
from subsidy.masking import mask
from subsidy.redemption import approval
from subsidy.redemption import errors as redemption_errors
from subsidy.redemption import service as redemption_service
from subsidy.redemption.models import Redemption, RedemptionStatus
from subsidy.registry import catalog as catalogs
from subsidy.settings import Settings, get_settings
from subsidy.signin import service as signin
from subsidy.signin.errors import SignInRefused
from subsidy.signin.oidc import CALLBACK_PATH, LOGIN_COOKIE, LOGIN_PATH, OidcProvider
from subsidy.signin.providers import IdentityProvider
from subsidy.web import i18n, views
from subsidy.web.paging import pager
from subsidy.web.session import (
    COOKIE,
    allow_page,
    csrf_checked,
    page_rate_limited,
    resumed,
    same_origin,
    session_id,
)
from subsidy.web.templating import HOME, language, render

router = APIRouter(include_in_schema=False)

Firm = Annotated[Principal, Depends(allow_page(Role.ENTERPRISE))]
Officer = Annotated[Principal, Depends(allow_page(Role.OFFICER))]
Finance = Annotated[Principal, Depends(allow_page(Role.FINANCE))]
DraftReader = Annotated[Principal, Depends(allow_page(Role.OFFICER, Role.AUDITOR))]
PolicyReader = Annotated[Principal, Depends(allow_page(Role.OFFICER, Role.FINANCE, Role.AUDITOR))]
PayoutReader = Annotated[Principal, Depends(allow_page(Role.FINANCE, Role.AUDITOR))]
ReportReader = Annotated[Principal, Depends(allow_page(*report_service.READERS))]
RedemptionReader = Annotated[
    Principal, Depends(allow_page(Role.OFFICER, Role.FINANCE, Role.AUDITOR))
]
ReceiptReader = Annotated[
    Principal, Depends(allow_page(Role.ENTERPRISE, Role.FINANCE, Role.AUDITOR))
]
Csrf = Depends(csrf_checked)
RedeemLimit = Depends(page_rate_limited("redeem"))
PreviewLimit = Depends(page_rate_limited("preview"))
ReportLimit = Depends(page_rate_limited("report"))
Text = Annotated[str, Form(max_length=1 << 20)]

PUBLIC = frozenset({"/", "/sign-in", "/sign-out", "/lang/{code}", LOGIN_PATH, CALLBACK_PATH})
"""The routes anyone may open (the role test checks every other declares its roles)."""


LOGOUT_COOKIE = "qinqing_sign_out_hint"
"""What the provider's sign-out needs (the ID token as `id_token_hint`): HttpOnly, SameSite
Strict, sent only to /sign-out."""


def identity_provider(settings: Settings) -> IdentityProvider | None:
    """The configured provider of identities (OpenID Connect), or None. A provincial ticket SSO
    would be chosen here by its own settings (`subsidy/signin/providers.py`)."""
    return OidcProvider(settings) if settings.oidc_enabled else None


def _back(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _local(path: str | None, default: str) -> str:
    """A path on this site only (never `//elsewhere` or `https://...`)."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return default


# --- signing in and out, language ------------------------------------------------------------


@router.get("/")
def home(request: Request, session: DbSession) -> Response:
    me = resumed(request, session)
    return _back(HOME[me.role] if me else "/sign-in")


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, session: DbSession, code: str | None = None) -> HTMLResponse:
    """The sign-in form. `?code=` (a sign-in link) names whom the one-time code signs in and
    asks for the click that uses it (so a link previewer fetching it uses nothing); a code that
    is used or expired shows the form with the reason. Tokens never travel in a URL: a link
    carrying one is refused, and the form takes a pasted token by POST only."""
    if "token" in request.query_params:
        return _sign_in_page(request, reason="signin.token_in_link", status=400)
    if not code:
        return _sign_in_page(request)
    if not get_settings().local_sign_in:
        return _sign_in_page(request, reason="signin.local_off", status=403)
    try:
        who = signin.peek_code(session, code)
    except SignInRefused as exc:
        return _sign_in_page(request, reason=f"signin.{exc.reason}", status=400)
    return _sign_in_page(request, code=code, who=who)


@router.post("/sign-in")
def sign_in(
    request: Request,
    session: DbSession,
    code: Annotated[str, Form(max_length=128)] = "",
    token: Annotated[str, Form(max_length=8192)] = "",
) -> Response:
    """Exchange a one-time code or a pasted bearer token for a new session (the cookie); the
    session this browser had, if any, ends (no fixation, no leftovers)."""
    if not same_origin(request):
        return render(request, "error.html", {"message": "csrf_failed"}, status=403)
    settings, previous = get_settings(), session_id(request)
    if not settings.local_sign_in:
        return _sign_in_page(request, reason="signin.local_off", status=403)
    try:
        if code.strip():
            opened = signin.sign_in_with_code(session, settings, code.strip(), replacing=previous)
        else:
            opened = signin.sign_in_with_token(session, settings, token.strip(), replacing=previous)
    except SignInRefused as exc:
        session.rollback()
        return _sign_in_page(request, reason=f"signin.{exc.reason}", status=401)
    except AuthenticationError as exc:
        session.rollback()
        return _sign_in_page(request, problem=exc.message_in(language(request)), status=401)
    response = _back(HOME[opened.principal.role])
    _set_session_cookie(request, response, opened)
    return response


def _set_session_cookie(request: Request, response: Response, opened: signin.Opened) -> None:
    response.set_cookie(
        COOKIE,
        opened.session_id,
        max_age=_seconds_left(opened),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _seconds_left(opened: signin.Opened) -> int:
    return max(int((opened.expires_at - utcnow()).total_seconds()), 0)


@router.get(LOGIN_PATH)
def sign_in_through_provider(request: Request, next: str | None = None) -> Response:
    """Off to the provider's login page (state, nonce and PKCE verifier in a signed cookie)."""
    provider = identity_provider(get_settings())
    if provider is None:
        return render(request, "error.html", {"message": "not_found"}, status=404)
    try:
        return provider.begin(request, _local(next, ""))
    except IdentityRefused as exc:
        return _sign_in_page(request, refusal=exc.message_in(language(request)), status=502)


@router.get(CALLBACK_PATH)
def provider_callback(request: Request, session: DbSession) -> Response:
    """Back from the provider: the identity it proves opens a session as any proof does
    (audited). The session cookie is SameSite=Strict, which a browser withholds on the rest of
    a redirect chain the provider began, so the page that answers moves on by itself
    (a meta refresh: a navigation of this site's own) instead of redirecting."""
    settings, previous = get_settings(), session_id(request)
    provider = identity_provider(settings)
    if provider is None:
        return render(request, "error.html", {"message": "not_found"}, status=404)
    try:
        signed = provider.complete(request, session)
    except IdentityRefused as exc:
        session.rollback()
        status = 502 if exc.code == "identity.unavailable" else 403
        refused = _sign_in_page(request, refusal=exc.message_in(language(request)), status=status)
        refused.delete_cookie(LOGIN_COOKIE, path=LOGIN_PATH, httponly=True, samesite="lax")
        return refused
    if previous:
        signin.close(session, previous)
    opened = signin.open_session(
        session, settings, signed.identity.principal, method=provider.method
    )
    home = _local(signed.next_path, HOME[opened.principal.role])
    response = render(request, "signed_in.html", {"home": home})
    _set_session_cookie(request, response, opened)
    response.delete_cookie(LOGIN_COOKIE, path=LOGIN_PATH, httponly=True, samesite="lax")
    if signed.sign_out_hint:
        response.set_cookie(
            LOGOUT_COOKIE,
            signed.sign_out_hint,
            max_age=_seconds_left(opened),
            path="/sign-out",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return response


def _sign_in_page(
    request: Request,
    *,
    code: str = "",
    who: Principal | None = None,
    reason: str | None = None,
    problem: str | None = None,
    refusal: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The sign-in page; `problem`: why a pasted token was refused, `refusal`: why the
    provider's sign-in was (each in the page's language)."""
    settings = get_settings()
    provider = identity_provider(settings)
    context = {
        "code": code,
        "who": who,
        "reason": reason,
        "problem": problem,
        "refusal": refusal,
        "provider": provider.name if provider else None,
        "local": settings.local_sign_in,
    }
    return render(request, "sign_in.html", context, status=status)


@router.post("/sign-out", dependencies=[Csrf])
def sign_out(request: Request, session: DbSession) -> Response:
    """Revoke the session (audited): its cookie, replayed, signs nobody in. Signed in through a
    provider that offers it, the browser goes on to the provider's sign-out (RP-initiated
    logout), which comes back to the sign-in page."""
    known = session_id(request)
    if known:
        signin.close(session, known)
    provider = identity_provider(get_settings())
    hint = request.cookies.get(LOGOUT_COOKIE)
    onward = None
    if provider is not None and hint:
        try:
            onward = provider.sign_out_url(request, hint)
        except IdentityRefused:
            onward = None  # the provider is unreachable: the portal's own session is closed
    # The CSP's form-action 'self' also governs where a form's POST redirects to, so the
    # provider's sign-out is reached from a page of our own (a meta refresh, a link).
    response: Response = (
        render(request, "signed_out.html", {"onward": onward}) if onward else _back("/sign-in")
    )
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    response.delete_cookie(LOGOUT_COOKIE, path="/sign-out", httponly=True, samesite="strict")
    return response


@router.get("/lang/{code}")
def switch_language(code: str, next: str | None = None) -> Response:
    """Keep the language in a cookie (a preference, not a secret) and go back."""
    response = _back(_local(next, "/"))
    if code in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, code, max_age=365 * 86400, path="/", samesite="lax")
    return response


# --- the firm --------------------------------------------------------------------------------


def _uscc(me: Principal) -> str:
    assert me.uscc is not None  # an enterprise token always names its firm
    return me.uscc


@router.get("/firm", response_class=HTMLResponse)
def firm_subsidies(request: Request, me: Firm, session: DbSession) -> HTMLResponse:
    view = views.firm_view(session, _uscc(me), get_settings().business_date, language(request))
    return render(request, "firm.html", {"view": view}, me=me)


@router.get("/firm/subsidies/{policy_id}/redeem", response_class=HTMLResponse)
def confirm_redeem(
    request: Request, policy_id: PolicyId, me: Firm, session: DbSession
) -> HTMLResponse:
    """The confirmation: what and how much, and a fresh idempotency key for this one click.
    A subsidy already redeemed (or paid) offers no confirmation: its state and its redemption."""
    view = views.firm_view(session, _uscc(me), get_settings().business_date, language(request))
    found = next((s for s in [*view.qualified, *view.others] if s.policy_id == policy_id), None)
    if found is not None and found.redemption is not None:
        return render(request, "firm_confirm.html", {"subsidy": found}, me=me)
    subsidy = next((s for s in view.qualified if s.policy_id == policy_id), None)
    if subsidy is None:
        return render(request, "error.html", {"message": "not_found"}, status=404, me=me)
    context = {"subsidy": subsidy, "key": uuid.uuid4().hex}
    return render(request, "firm_confirm.html", context, me=me)


@router.post("/firm/subsidies/{policy_id}/redeem", dependencies=[RedeemLimit, Csrf])
def redeem(
    request: Request,
    policy_id: PolicyId,
    me: Firm,
    session: DbSession,
    key: Annotated[str, Form(min_length=8, max_length=128)],
) -> Response:
    """Redeem with the key of the confirmation form: a double click or a resent form redeems once
    and shows the same redemption."""
    try:
        done = redemption_service.redeem(
            session, _uscc(me), policy_id, key, today=get_settings().business_date
        )
    except redemption_errors.RedemptionError as exc:
        session.rollback()
        context = {"refusal": exc.message_in(language(request)), "policy_id": policy_id}
        return render(request, "firm_refused.html", context, status=409, me=me)
    # The next page says it worked (a query flag: the session keeps no flash messages).
    return _back(f"/firm/redemptions/{done.redemption.id}?done=redeemed")


@router.get("/firm/redemptions", response_class=HTMLResponse)
def my_redemptions(request: Request, me: Firm, session: DbSession) -> HTMLResponse:
    view = views.firm_view(session, _uscc(me), get_settings().business_date, language(request))
    titles = {s.policy_id: s.title for s in [*view.qualified, *view.others]}
    rows = [(r, titles.get(r.policy_id, r.policy_id), views.steps(r)) for r in view.redemptions]
    return render(request, "firm_redemptions.html", {"rows": rows}, me=me)


@router.get("/firm/redemptions/{redemption_id}", response_class=HTMLResponse)
def my_redemption(
    request: Request,
    redemption_id: RowId,
    me: Firm,
    session: DbSession,
    done: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    """One redemption on its way to "paid" (once paid: when, the bank's reference, the account
    and the receipt); another firm's is not found, as in the API. `done=redeemed`: just made."""
    found = session.get(Redemption, redemption_id)
    if found is None or found.uscc != me.uscc:
        return render(request, "error.html", {"message": "not_found"}, status=404, me=me)
    context = {
        "r": found,
        "steps": views.steps(found),
        "payment": receipts.payment(session, found),
        "just_redeemed": done == "redeemed",
    }
    return render(request, "firm_redemption.html", context, me=me)


@router.get("/redemptions/{redemption_id}/receipt", response_class=HTMLResponse)
def payment_receipt(
    request: Request, redemption_id: RowId, me: ReceiptReader, session: DbSession
) -> HTMLResponse:
    """The printable payment receipt (兑付凭证) of a paid redemption: the firm's own (another
    firm's is not found), or any for finance and auditors, as the API's."""
    try:
        found = receipts.receipt(session, redemption_id, uscc=me.uscc)
    except payout_errors.PayoutNotFound:
        return render(request, "error.html", {"message": "not_found"}, status=404, me=me)
    except payout_errors.RedemptionStateError:
        context = {"message": "receipt.not_paid", "back": _redemption_page(me, redemption_id)}
        return render(request, "error.html", context, status=409, me=me)
    return render(request, "receipt.html", {"receipt": found}, me=me)


def _redemption_page(me: Principal, redemption_id: int) -> str:
    return f"/firm/redemptions/{redemption_id}" if me.role is Role.ENTERPRISE else "/review"


# --- the officer: policies and the funnel ----------------------------------------------------


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
        return render(request, "error.html", {"message": "not_found"}, status=404, me=me)
    by = me.actor
    return _policy_step(
        request,
        me,
        session,
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
        session,
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
        session,
        lambda: lifecycle.withdraw(session, request_id, by=by).id,
        "withdrawn",
    )


def _policy_step(
    request: Request,
    me: Principal,
    session: DbSession,
    step: Callable[[], int | None],
    done: str,
) -> Response:
    try:
        request_id = step()
    except PolicyError as exc:
        session.rollback()
        maker_checker = isinstance(exc, SameOfficerError | NotRequesterError)
        context = {
            "refusal": exc.message_in(language(request)),
            "two_officers": maker_checker,
            "back": "/officer/policies",
        }
        return render(request, "error.html", context, status=409, me=me)
    return _back(f"/officer/policies?done={done}:{request_id}")


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
    return _back(f"/officer/drafts/{draft.id}")


@router.get("/officer/drafts/{draft_id}", response_class=HTMLResponse)
def editor(request: Request, draft_id: RowId, me: DraftReader, session: DbSession) -> HTMLResponse:
    try:
        draft = drafts.get(session, draft_id)
    except PolicyError:
        return render(request, "error.html", {"message": "not_found"}, status=404, me=me)
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
    through `draft_preview`, declared first, which is rate limited)."""
    if action not in ("save", "test", "preview", "publish"):
        return render(request, "error.html", {"message": "not_found"}, status=404, me=me)
    try:
        draft = drafts.get(session, draft_id)
        if draft.published_version is None:
            draft = drafts.replace(session, draft_id, text, draft.format, by=me.actor)
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
        published = drafts.publish(session, draft_id, [compile_issues], by=me.actor)
        return _partial(request, me, published=published)
    except PolicyDocumentError as exc:
        session.rollback()
        return _partial(request, me, issues=exc.issues)
    except QinqingError as exc:
        session.rollback()
        return _partial(request, me, refusal=exc.message_in(language(request)))


def _partial(request: Request, me: Principal, **context: object) -> HTMLResponse:
    return render(request, "_result.html", context, me=me)


# --- held and returned redemptions (maker-checker) -------------------------------------------


@router.get("/review", response_class=HTMLResponse)
def review(
    request: Request, me: RedemptionReader, session: DbSession, done: str | None = None
) -> HTMLResponse:
    context: dict[str, object] = {"mask": mask, "done": done}
    shown: set[str] = set()
    for name, status in (("held", RedemptionStatus.HELD), ("returned", RedemptionStatus.RETURNED)):
        paged = pager(request, queries.count_redemptions(session, status=status), param=name)
        rows = queries.redemptions(session, status=status, limit=paged.size, offset=paged.offset)
        context[name], context[f"{name}_pager"] = rows, paged
        shown |= {r.policy_id for r in rows}
    context["titles"] = policy_service.titles(session, shown, language(request))
    return render(request, "review.html", context, me=me)


@router.post("/review/{redemption_id}/approve", dependencies=[Csrf])
def approve(request: Request, redemption_id: RowId, me: Officer, session: DbSession) -> Response:
    """held -> approved, by an officer other than its maker."""
    return _payout_action(
        request,
        me,
        session,
        lambda: approval.approve(session, redemption_id, by=me.actor),
        "approved",
    )


@router.post("/review/{redemption_id}/account", dependencies=[Csrf])
def correct_account(
    request: Request,
    redemption_id: RowId,
    me: Finance,
    session: DbSession,
    account: Annotated[str, Form(min_length=8, max_length=64)],
) -> Response:
    by = me.actor
    return _payout_action(
        request,
        me,
        session,
        lambda: retry.correct_account(session, redemption_id, account, by=by),
        "corrected",
    )


@router.post("/review/{redemption_id}/release", dependencies=[Csrf])
def release(request: Request, redemption_id: RowId, me: Finance, session: DbSession) -> Response:
    """returned -> approved, by a finance user other than whoever corrected the account."""
    by = me.actor
    return _payout_action(
        request, me, session, lambda: retry.release(session, redemption_id, by=by), "released"
    )


def _payout_action(
    request: Request,
    me: Principal,
    session: DbSession,
    act: Callable[[], Redemption],
    done: str,
) -> Response:
    try:
        changed = act()
    except payout_errors.PayoutError as exc:
        session.rollback()
        maker_checker = isinstance(exc, payout_errors.MakerChecker)
        context = {
            "refusal": exc.message_in(language(request)),
            "maker_checker": maker_checker,
            "back": "/review",
        }
        return render(request, "error.html", context, status=409, me=me)
    return _back(f"/review?done={done}:{changed.id}")


# --- finance: batches, exceptions ------------------------------------------------------------


@router.get("/finance/batches", response_class=HTMLResponse)
def batches(request: Request, me: PayoutReader, session: DbSession) -> HTMLResponse:
    return render(request, "finance_batches.html", _batch_page(request, session), me=me)


@router.get("/finance/batches/table", response_class=HTMLResponse)
def batches_table(request: Request, me: PayoutReader, session: DbSession) -> HTMLResponse:
    """The batches table alone (of the page shown): the page polls it while a batch is open."""
    return render(request, "_batches.html", _batch_page(request, session), me=me)


def _batch_page(request: Request, session: DbSession) -> dict[str, object]:
    paged = pager(request, queries.count_batches(session), path="/finance/batches")
    found = queries.batches(session, limit=paged.size, offset=paged.offset)
    return {"batches": found, "pager": paged}


@router.get("/finance/batches/{batch_id}", response_class=HTMLResponse)
def batch(request: Request, batch_id: RowId, me: PayoutReader, session: DbSession) -> HTMLResponse:
    try:
        summary = queries.batch(session, batch_id)
        paged = pager(request, queries.count_items(session, batch_id), size=ITEMS_PER_PAGE)
        items = queries.items(session, batch_id, limit=paged.size, offset=paged.offset)
    except payout_errors.PayoutError:
        return render(request, "error.html", {"message": "not_found"}, status=404, me=me)
    context = {"summary": summary, "items": items, "mask": mask, "pager": paged}
    return render(request, "finance_batch.html", context, me=me)


ITEMS_PER_PAGE = 200


@router.get("/finance/exceptions", response_class=HTMLResponse)
def exceptions(
    request: Request, me: PayoutReader, session: DbSession, resolved: bool = False
) -> HTMLResponse:
    which = None if resolved else False
    paged = pager(request, queries.count_exceptions(session, resolved=which))
    found = queries.exceptions(session, resolved=which, limit=paged.size, offset=paged.offset)
    context = {"exceptions": found, "show_resolved": resolved, "pager": paged}
    return render(request, "finance_exceptions.html", context, me=me)


@router.post("/finance/exceptions/{exception_id}/resolve", dependencies=[Csrf])
def resolve(
    request: Request,
    exception_id: RowId,
    me: Finance,
    session: DbSession,
    note: Annotated[str, Form(min_length=1, max_length=500)],
) -> Response:
    try:
        reconcile.resolve(session, exception_id, note, by=me.actor)
    except payout_errors.PayoutError as exc:
        session.rollback()
        context = {"refusal": exc.message_in(language(request)), "back": "/finance/exceptions"}
        return render(request, "error.html", context, status=409, me=me)
    return _back("/finance/exceptions")


# --- finance and auditors: report downloads --------------------------------------------------

RECENT_JOBS = 20


@router.get("/finance/reports", response_class=HTMLResponse)
def reports(request: Request, me: ReportReader, session: DbSession) -> HTMLResponse:
    return _reports_page(request, me, session, views.ReportForm())


@router.get("/finance/reports/table", response_class=HTMLResponse)
def report_jobs_table(request: Request, me: ReportReader, session: DbSession) -> HTMLResponse:
    """The jobs alone (of the page shown): the page polls it while one is queued or running."""
    return render(request, "_report_jobs.html", _jobs_page(request, session), me=me)


def _jobs_page(request: Request, session: DbSession) -> dict[str, object]:
    paged = pager(
        request, views.count_report_jobs(session), size=RECENT_JOBS, path="/finance/reports"
    )
    return {"jobs": views.recent_report_jobs(session, paged.size, paged.offset), "pager": paged}


@router.get("/finance/reports/disbursements.xlsx", dependencies=[ReportLimit])
def disbursements_report(
    request: Request,
    me: ReportReader,
    session: DbSession,
    date_from: Annotated[str, Query(alias="from")] = "",
    date_to: Annotated[str, Query(alias="to")] = "",
    policy: str = "",
) -> Response:
    """The disbursement workbook as the API's export makes it: sent at once when small, else
    queued as a job whose page the browser is sent to. A bad filter: the form again, 422."""
    form = views.ReportForm(date_from, date_to, policy)
    errors = form.date_errors()
    if errors:
        return _reports_page(request, me, session, form, errors, status=422)
    period = form.period()
    try:
        done = report_service.export_disbursements(session, period, me.actor, language(request))
    except ReportError as exc:
        session.rollback()
        errors = views.report_refusal(exc, period, language(request))
        return _reports_page(request, me, session, form, errors, status=422)
    if isinstance(done, report_service.Queued):
        run = done.run_after_answer
        background = BackgroundTask(run) if run else None
        return RedirectResponse(
            f"/finance/reports/jobs/{done.job_id}", status_code=303, background=background
        )
    return FileResponse(
        done.path,
        media_type=report_service.XLSX,
        filename=done.download_name,
        background=BackgroundTask(done.path.unlink, missing_ok=True),
    )


def _reports_page(
    request: Request,
    me: Principal,
    session: DbSession,
    form: views.ReportForm,
    errors: dict[str, views.Words] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "form": form,
        "errors": errors or {},
        "policies": views.reportable_policies(session),
    } | _jobs_page(request, session)
    return render(request, "finance_reports.html", context, status=status, me=me)


@router.get("/finance/reports/jobs/{job_id}", response_class=HTMLResponse)
def report_job(request: Request, job_id: RowId, me: ReportReader, session: DbSession) -> Response:
    return _report_job_page(request, me, session.get(ReportJob, job_id))


@router.get("/finance/reports/jobs/{job_id}/progress", response_class=HTMLResponse)
def report_job_progress(
    request: Request, job_id: RowId, me: ReportReader, session: DbSession
) -> Response:
    """The job's state alone: its page polls it while the job is queued or running."""
    job = session.get(ReportJob, job_id)
    if job is None:
        return render(request, "error.html", {"message": "not_found"}, status=404, me=me)
    return render(request, "_report_job.html", {"row": views.report_job(job)}, me=me)


@router.get("/finance/reports/jobs/{job_id}/file")
def report_job_file(
    request: Request, job_id: RowId, me: ReportReader, session: DbSession
) -> Response:
    """The finished workbook; before it is ready (or when it failed, or its file has gone) the
    job's page says why, with the API's status (409, or 404)."""
    job = session.get(ReportJob, job_id)
    if job is None:
        return _report_job_page(request, me, job)
    try:
        found = report_service.job_file(get_settings().data_dir, job)
    except JobNotReady:
        return _report_job_page(request, me, job, asked="not_ready", status=409)
    except JobFileMissing:
        return _report_job_page(request, me, job, asked="file_missing", status=404)
    return FileResponse(found.path, media_type=report_service.XLSX, filename=found.download_name)


def _report_job_page(
    request: Request,
    me: Principal,
    job: ReportJob | None,
    *,
    asked: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    if job is None:
        return render(request, "error.html", {"message": "not_found"}, status=404, me=me)
    context = {"row": views.report_job(job), "asked": asked}
    return render(request, "finance_report_job.html", context, status=status, me=me)
