"""`qinqing policy ...`: validate, test, publish, list, show; suspend and close by two officers
(request-suspend / request-close, then another officer's confirm; requests, withdraw).

The assembly (`subsidy/cli.py`) builds this app with the checks other domains add before a
publication (the matcher's "can I compile it"), so this domain imports none of them.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import make_url

from policies import lifecycle, service
from policies.checking import check, load_path_checked
from policies.errors import PolicyDocumentError
from policies.models import PolicyAction, PolicyActionRequest, RequestStatus
from policies.service import ExtraCheck
from policies.testing import run_tests
from subsidy import i18n, localtime
from subsidy.actors import actor
from subsidy.auth import Role
from subsidy.console import make_console, refusals
from subsidy.db import require_current_schema, session_scope
from subsidy.i18n import DEFAULT, Language
from subsidy.registry import catalog as catalogs
from subsidy.registry import declarations
from subsidy.registry.catalog import BUILTIN, Catalog
from subsidy.settings import get_settings

FileArgument = Annotated[
    Path, typer.Argument(help="Policy document, YAML or JSON.", dir_okay=False)
]
Officer = Annotated[
    str, typer.Option("--by", help="The officer who acts (recorded as officer:NAME).")
]
_YOU = getpass.getuser()
LanguageOption = Annotated[
    Language, typer.Option("--lang", help="zh (Chinese, the default) or en: titles and states.")
]
RequestId = Annotated[int, typer.Argument(metavar="REQUEST", help="The request's id.")]
DeclarationOption = Annotated[
    Path | None,
    typer.Option(
        "--declaration",
        help="Check against this registry declaration (YAML) instead of the one in force in the "
        "database: the declared columns rules and test firms may read, offline.",
        dir_okay=False,
    ),
]


console = make_console()
err_console = make_console(stderr=True)


def build(extra_checks: Sequence[ExtraCheck] = ()) -> typer.Typer:
    """The policy command group, with the checks a publication must also pass."""
    app = typer.Typer(help="Policy documents: check, test, publish and manage their lifecycle.")

    @app.command("validate")
    def validate(file: FileArgument, declaration: DeclarationOption = None) -> None:
        """Check FILE: schema, rules against the registry's types (with the declared columns in
        force, or those of --declaration), and what publishing needs."""
        with refusals():
            catalog = _catalog(declaration)
            checked = check(load_path_checked(file, catalog=catalog), catalog=catalog)
            issues = [issue for extra in extra_checks for issue in extra(checked, file.name)]
            if issues:
                raise PolicyDocumentError(file.name, issues)
        console.print(f"[green]{escape(file.name)}: valid[/green] (policy {checked.document.id})")

    @app.command("test")
    def test(file: FileArgument, declaration: DeclarationOption = None) -> None:
        """Run FILE's embedded tests through the reference evaluator (with the declared columns
        in force, or those of --declaration)."""
        with refusals():
            catalog = _catalog(declaration)
            results = run_tests(check(load_path_checked(file, catalog=catalog), catalog=catalog))
        for result in results:
            mark = "[green]pass[/green]" if result.passed else "[red]FAIL[/red]"
            console.print(
                f"{mark} {escape(result.name)}"
                + ("" if result.passed else f": {escape(result.message)}")
            )
        failed = sum(not r.passed for r in results)
        console.print(f"{len(results) - failed} passed, {failed} failed")
        if failed or not results:
            raise typer.Exit(1)

    @app.command("publish")
    def publish(
        file: FileArgument,
        by: Annotated[str, typer.Option(help="Who publishes (recorded).")] = getpass.getuser(),
    ) -> None:
        """Check and test FILE under the declaration in force, then publish it as the policy's
        next immutable version."""
        with refusals():
            require_current_schema()
            with session_scope() as session:
                in_force = catalogs.current(session)
                document = load_path_checked(file, catalog=in_force)
                approved = service.approve(document, file.name, extra_checks, catalog=in_force)
                published = service.publish(session, approved, by=_officer(by))
        version = published.version
        if published.created:
            console.print(f"[green]published[/green] {version.policy_id} version {version.version}")
        else:
            console.print(
                f"{version.policy_id} version {version.version} already holds this document"
            )

    def _catalog(declaration: Path | None) -> Catalog:
        """The declaration given, else the one in force in the database, else (no database
        here) the built-in registries alone, which a note on stderr says."""
        if declaration is not None:
            return declarations.parse(
                declaration.read_text(encoding="utf-8"), declaration.name, version=0
            )
        if not _database_here():
            err_console.print(
                "no database: checked against the built-in registries only "
                "(--declaration FILE adds declared columns)",
                style="dim",
                markup=False,
            )
            return BUILTIN
        require_current_schema()
        with session_scope() as session:
            return catalogs.current(session)

    @app.command("list")
    def list_policies(lang: LanguageOption = DEFAULT) -> None:
        """Every policy with its state and latest version, titles and states in `--lang`."""
        with refusals():
            require_current_schema()
            with session_scope() as session:
                rows = service.policies(session)
        table = Table(
            "policy",
            "title",
            "state",
            "version",
            f"updated ({localtime.zone_name()})",
            box=box.SIMPLE_HEAD,
        )
        for p in rows:
            table.add_row(
                p.id,
                escape(p.title_in(lang)),
                i18n.state(lang, "policy", p.state),
                str(p.latest_version),
                localtime.shown(p.updated_at),
            )
        console.print(table)

    @app.command("show")
    def show(
        policy_id: Annotated[str, typer.Argument(metavar="ID")],
        version: Annotated[
            int | None, typer.Option(help="A version number; default the latest.")
        ] = None,
        lang: LanguageOption = DEFAULT,
    ) -> None:
        """A policy's state, its versions, and the document of one version."""
        with refusals():
            require_current_schema()
            with session_scope() as session:
                policy, versions = service.history(session, policy_id)
        chosen = next(
            (v for v in versions if v.version == (version or policy.latest_version)), None
        )
        if chosen is None:
            err_console.print(f"[red]policy {policy_id} has no version {version}[/red]")
            raise typer.Exit(1)
        title, state = policy.title_in(lang), i18n.state(lang, "policy", policy.state)
        console.print(f"[bold]{policy.id}[/bold] {escape(title)} — {state}")
        for v in versions:
            console.print(
                f"  version {v.version}: published {localtime.shown(v.published_at)} "
                f"{localtime.zone_name()} "
                f"by {v.published_by}, sha256 {v.content_hash[:12]}"
            )
        console.print_json(json.dumps(json.loads(chosen.document), ensure_ascii=False))

    def _request_command(action: PolicyAction) -> None:
        @app.command(f"request-{action}")
        def make_request(
            policy_id: Annotated[str, typer.Argument(metavar="ID")],
            reason: Annotated[str, typer.Option(help="Why (the confirming officer reads it).")],
            by: Officer = _YOU,
        ) -> None:
            with refusals():
                require_current_schema()
                with session_scope() as session:
                    found = lifecycle.request(
                        session, policy_id, action, reason=reason, by=_officer(by)
                    )
            console.print(
                f"request {found.id}: {action} {found.policy_id}, pending until another "
                f"officer runs `qinqing policy confirm {found.id}`"
            )

        make_request.__doc__ = (
            f"Ask for policy ID to be {action.to}; another officer confirms it (maker-checker)."
        )

    _request_command(PolicyAction.SUSPEND)
    _request_command(PolicyAction.CLOSE)

    @app.command("requests")
    def list_requests(
        every: Annotated[bool, typer.Option("--all", help="Decided ones too.")] = False,
    ) -> None:
        """Requests to suspend or close policies (pending ones unless --all)."""
        with refusals():
            require_current_schema()
            with session_scope() as session:
                found = lifecycle.requests(session, None if every else RequestStatus.PENDING)
        table = Table(
            "request",
            "policy",
            "action",
            "status",
            "requested by",
            "reason",
            "decided by",
            box=box.SIMPLE_HEAD,
        )
        for r in found:
            table.add_row(
                str(r.id),
                r.policy_id,
                r.action,
                r.status,
                escape(r.requested_by),
                escape(r.reason),
                escape(r.decided_by or ""),
            )
        console.print(table)

    @app.command("confirm")
    def confirm(request_id: RequestId, by: Officer = _YOU) -> None:
        """Make the change REQUEST asks for, as an officer other than its requester."""
        with refusals():
            require_current_schema()
            with session_scope() as session:
                found, policy = lifecycle.confirm(session, request_id, by=_officer(by))
        console.print(f"{policy.id} is now {policy.state} ({_decided(found)})")

    @app.command("withdraw")
    def withdraw(request_id: RequestId, by: Officer = _YOU) -> None:
        """Take back your own pending REQUEST."""
        with refusals():
            require_current_schema()
            with session_scope() as session:
                found = lifecycle.withdraw(session, request_id, by=_officer(by))
        console.print(f"request {found.id} withdrawn; {found.policy_id} is unchanged")

    return app


def _officer(name: str) -> str:
    return actor(Role.OFFICER, name)


def _decided(found: PolicyActionRequest) -> str:
    return f"requested by {found.requested_by}, confirmed by {found.decided_by}"


def _database_here() -> bool:
    """Whether a database is configured that exists (a SQLite file is not created by asking)."""
    url = make_url(get_settings().database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return True
    return Path(url.database).exists()
