"""Jinja2 templates (autoescaped) with what every page needs: the words, the caller, the CSRF
token, the navigation of the caller's role."""

from __future__ import annotations

from decimal import Decimal
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context

from subsidy import localtime
from subsidy.auth import Principal, Role
from subsidy.capitals import in_capitals
from subsidy.i18n import actor as actor_words
from subsidy.i18n import bank as bank_words
from subsidy.i18n import state as state_words
from subsidy.i18n import translations
from subsidy.settings import get_settings
from subsidy.web import i18n
from subsidy.web.session import firm_name, page_csrf, signed_in

TEMPLATES = resources.files("subsidy.web") / "templates"

NAVIGATION: dict[Role, list[tuple[str, str]]] = {
    Role.ENTERPRISE: [("nav.subsidies", "/firm"), ("nav.redemptions", "/firm/redemptions")],
    Role.OFFICER: [
        ("nav.policies", "/officer/policies"),
        ("nav.drafts", "/officer/drafts"),
        ("nav.review", "/review"),
    ],
    Role.FINANCE: [
        ("nav.batches", "/finance/batches"),
        ("nav.runs", "/finance/runs"),
        ("nav.review", "/review"),
        ("nav.accounts", "/finance/accounts"),
        ("nav.statements", "/finance/statements"),
        ("nav.exceptions", "/finance/exceptions"),
        ("nav.reports", "/finance/reports"),
    ],
    Role.AUDITOR: [
        ("nav.audit", "/audit"),
        ("nav.policies", "/officer/policies"),
        ("nav.drafts", "/officer/drafts"),
        ("nav.batches", "/finance/batches"),
        ("nav.runs", "/finance/runs"),
        ("nav.review", "/review"),
        ("nav.accounts", "/finance/accounts"),
        ("nav.statements", "/finance/statements"),
        ("nav.exceptions", "/finance/exceptions"),
        ("nav.reports", "/finance/reports"),
    ],
}

HOME: dict[Role, str] = {role: links[0][1] for role, links in NAVIGATION.items()}


def yuan(value: Decimal | int | None) -> str:
    """12345.5 -> '12,345.50' (exact: formatted from the Decimal, never a float)."""
    if value is None:
        return "—"
    return f"{Decimal(value):,.2f}"


@pass_context
def _state(context: Context, value: str, kind: str) -> str:
    """`{{ r.status | state('redemption') }}`: a state in the page's language (`terms.po`)."""
    return state_words(context["lang"], kind, value)


@pass_context
def _bank(context: Context, code: str) -> str:
    """`{{ b.bank_code | bank }}`: the bank's name in the page's language."""
    return bank_words(context["lang"], code)


@pass_context
def _actor(context: Context, name: str | None) -> str:
    """`{{ r.changed_by | actor }}`: who acted, system actors by their name."""
    return actor_words(context["lang"], name) if name else ""


def count(value: int | None) -> str:
    """1144 -> '1,144': every count a page shows (firms, items, redemptions)."""
    if value is None:
        return "—"
    return f"{int(value):,}"


_environment = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.i18n"],
)
_environment.filters["yuan"] = yuan
# Filters, not globals: a template's own variable (`{% for state in ... %}`) cannot hide them.
_environment.filters["state"] = _state
_environment.filters["bank"] = _bank
_environment.filters["actor"] = _actor
_environment.filters["count"] = count
_environment.filters["local"] = localtime.shown  # a stored UTC time as users read it
_environment.filters["capitals"] = in_capitals  # 500.00 -> 人民币伍佰元整
templates = Jinja2Templates(env=_environment)


def language(request: Request) -> i18n.Language:
    return i18n.language_of(request.query_params.get("lang"), request.cookies.get(i18n.COOKIE))


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    me: Principal | None = None,
) -> HTMLResponse:
    who = me or signed_in(request)
    words = i18n.Translator(language(request))
    catalog = translations(words.language)
    page = {
        "gettext": catalog.gettext,
        "ngettext": catalog.ngettext,
        "_": catalog.gettext,
        "t": words.t,
        "lang": words.language,
        "me": who,
        "firm_name": firm_name(request),
        "nav": NAVIGATION.get(who.role, []) if who else [],
        "csrf": page_csrf(request) if who else "",
        "path": request.url.path,
        "today": get_settings().business_date,
        "on_workers": bool(get_settings().broker_url),  # queued work waits for `qinqing worker`
    }
    return templates.TemplateResponse(request, name, page | (context or {}), status_code=status)
