"""`qinqing sign-in link` (a one-time sign-in link) and `qinqing sign-in purge` (ended sessions
and dead codes), registered by the CLI root; `sign_in_links` gives the demo a link per role."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from sqlmodel import Session

from subsidy import localtime
from subsidy.auth import Principal, Role
from subsidy.console import make_console, refusals
from subsidy.db import require_current_schema, session_scope
from subsidy.settings import get_settings
from subsidy.signin import service

console = make_console()
LOCAL_OFF = (
    "sign-in links and locally minted tokens are accepted only in development once an OpenID "
    "provider is configured (QINQING_OIDC_ISSUER); people sign in through the provider"
)
sign_in_app = typer.Typer(help="Portal sign-in: one-time sign-in links, ended sessions.")


def link(base_url: str, code: str) -> str:
    """The sign-in link of a one-time code: the code is not a credential once used or expired."""
    return f"{base_url.rstrip('/')}/sign-in?code={code}"


def sign_in_links(
    session: Session, base_url: str, firm: str | None, *, issued_by: str
) -> dict[str, str]:
    """A one-time sign-in link per role (the enterprise one for `firm`), for the demo."""
    links = {}
    for role in Role:
        if role is Role.ENTERPRISE and firm is None:
            continue
        uscc = firm if role is Role.ENTERPRISE else None
        who = Principal(subject=f"demo-{role}", role=role, uscc=uscc)
        issued = service.issue_code(session, get_settings(), who, issued_by=issued_by)
        links[str(role)] = link(base_url, issued.code)
    # A second officer: suspending or closing a policy is confirmed by another person.
    second = Principal(subject="demo-officer-2", role=Role.OFFICER)
    issued = service.issue_code(session, get_settings(), second, issued_by=issued_by)
    links[f"{Role.OFFICER} (a second one)"] = link(base_url, issued.code)
    return links


@sign_in_app.command("link")
def link_command(
    role: Annotated[Role, typer.Option(help="The role to sign in as.")],
    subject: Annotated[str, typer.Option(help="Who signs in (their name in the audit trail).")],
    uscc: Annotated[str | None, typer.Option(help="The firm (enterprise role only).")] = None,
    base_url: Annotated[str, typer.Option(help="Where the portal is served.")] = (
        "http://127.0.0.1:8000"
    ),
) -> None:
    """Print a sign-in link that signs SUBJECT in once, within QINQING_SIGN_IN_CODE_MINUTES."""
    settings = get_settings()
    if not settings.local_sign_in:  # the portal would refuse the link: say so now
        raise typer.BadParameter(LOCAL_OFF)
    who = Principal(subject=subject, role=role, uscc=uscc)
    issued_by = f"operator:{getpass.getuser()}"
    with refusals():
        require_current_schema()
        try:
            with session_scope() as session:
                issued = service.issue_code(session, settings, who, issued_by=issued_by)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
    console.print(link(base_url, issued.code), markup=False, soft_wrap=True)
    minutes = f"{settings.sign_in_code_minutes:g}"
    make_console(stderr=True).print(
        f"signs {role}:{subject} in once, until {localtime.shown(issued.expires_at)} "
        f"{localtime.zone_name()} "
        f"({minutes} min)",
        markup=False,
    )


@sign_in_app.command("purge")
def purge_command() -> None:
    """Delete ended portal sessions (revoked, expired, idle) and used or expired sign-in codes."""
    with refusals():
        require_current_schema()
        with session_scope() as session:
            sessions, codes = service.purge(session, get_settings())
    console.print(f"purged {sessions:,} ended sessions and {codes:,} dead sign-in codes")
