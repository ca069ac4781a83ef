"""The firm's pages: its subsidies (qualified or not, and why), redeeming one (a confirmation
with a fresh idempotency key, then the redemption), its redemptions on their way to "paid", and
the printable payment receipt, which finance and auditors read too (`payouts.receipts.READERS`).

The same services and roles as the API's /api/v1/me/... and /api/v1/redemptions/.../receipt;
another firm's redemption is not found. A refused redemption is a `PageRefusal` (the unit of
work rolls back).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from payouts import errors as payout_errors
from payouts import receipts
from subsidy.api.params import PolicyId, RowId
from subsidy.api.security import DbSession
from subsidy.auth import Principal, Role
from subsidy.redemption import errors as redemption_errors
from subsidy.redemption import service as redemption_service
from subsidy.redemption.models import Redemption
from subsidy.settings import get_settings
from subsidy.web import views
from subsidy.web.session import page_rate_limited
from subsidy.web.shared import Csrf, Firm, PageRefusal, ReceiptReader, back, not_found
from subsidy.web.templating import language, render

router = APIRouter(include_in_schema=False)

RedeemLimit = Depends(page_rate_limited("redeem"))


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
        return not_found(request, me)
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
        context = {"refusal": exc.message_in(language(request)), "policy_id": policy_id}
        page = render(request, "firm_refused.html", context, status=409, me=me)
        raise PageRefusal(page) from exc
    # The next page says it worked (a query flag: the session keeps no flash messages).
    return back(f"/firm/redemptions/{done.redemption.id}?done=redeemed")


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
        return not_found(request, me)
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
        return not_found(request, me)
    except payout_errors.RedemptionStateError:
        context = {"message": "receipt.not_paid", "back": _redemption_page(me, redemption_id)}
        return render(request, "error.html", context, status=409, me=me)
    return render(request, "receipt.html", {"receipt": found}, me=me)


def _redemption_page(me: Principal, redemption_id: int) -> str:
    return f"/firm/redemptions/{redemption_id}" if me.role is Role.ENTERPRISE else "/review"
