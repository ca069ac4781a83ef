"""`qinqing policy ...`: validate, test, publish, list, show, suspend, close.

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

from policies import service
from policies.checking import check
from policies.document import load_path
from policies.errors import PolicyDocumentError
from policies.models import PolicyState
from policies.service import ExtraCheck
from policies.testing import run_tests
from subsidy.console import make_console, refusals
from subsidy.db import require_current_schema, session_scope

FileArgument = Annotated[
    Path, typer.Argument(help="Policy document, YAML or JSON.", dir_okay=False)
]


console = make_console()
err_console = make_console(stderr=True)


def build(extra_checks: Sequence[ExtraCheck] = ()) -> typer.Typer:
    """The policy command group, with the checks a publication must also pass."""
    app = typer.Typer(help="Policy documents: check, test, publish and manage their lifecycle.")

    @app.command("validate")
    def validate(file: FileArgument) -> None:
        """Check FILE: schema, rules against the registry's types, and what publishing needs."""
        with refusals():
            checked = check(load_path(file))
            issues = [issue for extra in extra_checks for issue in extra(checked, file.name)]
            if issues:
                raise PolicyDocumentError(file.name, issues)
        console.print(f"[green]{escape(file.name)}: valid[/green] (policy {checked.document.id})")

    @app.command("test")
    def test(file: FileArgument) -> None:
        """Run FILE's embedded tests through the reference evaluator."""
        with refusals():
            results = run_tests(check(load_path(file)))
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
        """Check and test FILE, then publish it as the policy's next immutable version."""
        with refusals():
            approved = service.approve(load_path(file), file.name, extra_checks)
            require_current_schema()
            with session_scope() as session:
                published = service.publish(session, approved, by=by)
        version = published.version
        if published.created:
            console.print(f"[green]published[/green] {version.policy_id} version {version.version}")
        else:
            console.print(
                f"{version.policy_id} version {version.version} already holds this document"
            )

    @app.command("list")
    def list_policies() -> None:
        """Every policy with its state and latest version."""
        with refusals():
            require_current_schema()
            with session_scope() as session:
                rows = service.policies(session)
        table = Table("policy", "title", "state", "version", "updated (UTC)", box=box.SIMPLE_HEAD)
        for p in rows:
            table.add_row(
                p.id,
                escape(p.title),
                p.state,
                str(p.latest_version),
                f"{p.updated_at:%Y-%m-%d %H:%M}",
            )
        console.print(table)

    @app.command("show")
    def show(
        policy_id: Annotated[str, typer.Argument(metavar="ID")],
        version: Annotated[
            int | None, typer.Option(help="A version number; default the latest.")
        ] = None,
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
        console.print(f"[bold]{policy.id}[/bold] {escape(policy.title)} — {policy.state}")
        for v in versions:
            console.print(
                f"  version {v.version}: published {v.published_at:%Y-%m-%d %H:%M} UTC "
                f"by {v.published_by}, sha256 {v.content_hash[:12]}"
            )
        console.print_json(json.dumps(json.loads(chosen.document), ensure_ascii=False))

    def _state_command(to: PolicyState, verb: str) -> None:
        @app.command(verb)
        def change(
            policy_id: Annotated[str, typer.Argument(metavar="ID")],
            by: Annotated[str, typer.Option(help="Who decides (recorded).")] = getpass.getuser(),
        ) -> None:
            with refusals():
                require_current_schema()
                with session_scope() as session:
                    policy = service.change_state(session, policy_id, to, by=by)
            console.print(f"{policy.id} is now {policy.state}")

        change.__doc__ = f"Make policy ID {to}."

    _state_command(PolicyState.SUSPENDED, "suspend")
    _state_command(PolicyState.CLOSED, "close")
    return app
