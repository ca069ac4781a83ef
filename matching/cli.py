"""`qinqing match`, `qinqing explain USCC POLICY_ID`, `qinqing policy preview FILE`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from matching import preview as previewing
from matching import service
from matching.models import MatchRun
from policies import explain as explaining
from policies import repository as policy_repository
from policies import service as policy_service
from policies.checking import load_path_checked
from policies.validity import OutOfForce, out_of_force
from subsidy import i18n
from subsidy.console import make_console, progress_bars, refusals
from subsidy.db import require_current_schema, session_scope
from subsidy.registry.service import current_frames
from subsidy.settings import get_settings

console = make_console()
err_console = make_console(stderr=True)

AsOf = Annotated[
    dt.datetime | None,
    typer.Option(
        "--as-of",
        formats=["%Y-%m-%d"],
        help="The run's date ($today); default the business date (QINQING_TODAY, else today).",
    ),
]


def _day(as_of: dt.datetime | None) -> dt.date:
    return as_of.date() if as_of else get_settings().business_date


def match_command(after: Sequence[service.AfterMatch] = ()) -> Callable[..., None]:
    """`qinqing match`, with the steps later domains add in the same transaction (automatic
    grants, notifications): a match and its consequences are stored together or not at all."""

    def match(as_of: AsOf = None) -> None:
        """Run every published policy over the current registry and store the qualifications.

        A policy that fails is named with its reason and the command exits with 1; the other
        policies' qualifications are stored all the same."""
        day = _day(as_of)
        with refusals(), progress_bars() as progress:
            require_current_schema()
            with session_scope() as session:
                runs = service.run_match(
                    session, get_settings().data_dir, as_of=day, progress=progress
                )
                matched = [run for run in runs if run.failure is None]
                idle = _not_in_force(session, matched, day)
                said = [line for step in after for line in step(session, matched, day)]
        _print_runs(matched)
        for run, why in idle:
            console.print(
                f"{escape(run.policy_id)} v{run.policy_version}: {why}; no firm qualifies",
                highlight=False,
            )
        for line in said:
            console.print(line)
        failed = [run for run in runs if run.failure is not None]
        for run in failed:
            err_console.print(
                f"[red]policy {escape(run.policy_id)} v{run.policy_version} failed[/red] "
                f"(its previous qualifications stand): {escape(run.failure or '')}"
            )
        if failed:
            raise typer.Exit(1)

    return match


def _not_in_force(
    session: Any, runs: list[MatchRun], day: dt.date
) -> list[tuple[MatchRun, OutOfForce]]:
    """The runs of policies outside their validity window on `day`, with why."""
    found = []
    for run in runs:
        version = policy_repository.version(session, run.policy_id, run.policy_version)
        assert version is not None, "a run names a stored version"
        why = out_of_force(policy_service.published_document(version), day)
        if why is not None:
            found.append((run, why))
    return found


def _print_runs(runs: list[MatchRun]) -> None:
    table = Table(
        "policy", "version", "firms", "qualified", "total (yuan)", "errors", box=box.SIMPLE_HEAD
    )
    for run in runs:
        table.add_row(
            run.policy_id,
            str(run.policy_version),
            f"{run.firms:,}",
            f"{run.qualified:,}",
            f"{run.total_amount:,.2f}",
            f"{run.evaluation_errors:,}",
        )
    console.print(table)


def explain(
    uscc: Annotated[str, typer.Argument(metavar="USCC")],
    policy_id: Annotated[str, typer.Argument(metavar="POLICY_ID")],
    as_of: AsOf = None,
) -> None:
    """Why firm USCC does or does not qualify for POLICY_ID: each clause, its reads, the amount."""
    day = _day(as_of)
    with refusals():
        require_current_schema()
        with session_scope() as session:
            _, versions = policy_service.history(session, policy_id)
            if not versions:
                raise policy_service.PolicyNotFoundError(
                    f"policy {policy_id} has no published version"
                )
            document = policy_service.published_document(versions[-1])
            frames = current_frames(session, get_settings().data_dir)
        record = explaining.firm_of(frames.enterprises, frames.employees, uscc, frames.catalog)
        result = explaining.explain(document, record, day, frames.catalog)
    verdict = f"qualifies for {result.amount:,.2f} yuan" if result.qualifies else "does not qualify"
    console.print(
        f"[bold]{uscc}[/bold] {verdict} under {policy_id} v{versions[-1].version} on {day}"
    )
    if result.not_in_force is not None:
        console.print(f"  {result.not_in_force}", style="yellow", markup=False)
    for clause in result.clauses:
        mark = {True: "[green]true[/green]", False: "[red]false[/red]"}.get(
            clause.value, "[yellow]error[/yellow]"
        )
        console.print(f"  {mark}  {escape(clause.text)}", highlight=False)
        if clause.label is not None:  # what the firm's page says for it
            console.print(f"        ({clause.label.en})", highlight=False, markup=False)
        for name, reading in clause.reads.items():
            console.print(f"        {name} = {reading.text('en')}", highlight=False, markup=False)
        if clause.error:
            console.print(f"        {clause.error}", style="yellow", markup=False)
    cap = f"{result.cap:,.2f}" if result.cap is not None else "none"
    before = f"{result.amount_before_cap:,.2f}" if result.amount_before_cap is not None else "-"
    granted = f"{result.amount:,.2f} yuan" if result.amount is not None else "nothing"
    console.print(f"  amount {before} yuan before the cap ({cap}); granted {granted}")
    if result.error:
        console.print(f"  evaluation error: {result.error}", style="yellow", markup=False)


def preview(
    file: Annotated[Path, typer.Argument(help="Policy document, YAML or JSON.", dir_okay=False)],
    as_of: AsOf = None,
    out: Annotated[
        Path | None, typer.Option(help="Write uscc, eligible, amount per firm (.csv or .parquet).")
    ] = None,
) -> None:
    """What FILE's policy would give on the current registry; need not be published."""
    with refusals():
        document = load_path_checked(file)
        require_current_schema()
        with session_scope() as session:
            report = previewing.preview(session, get_settings().data_dir, document, _day(as_of))
    _print_preview(report)
    if out is not None:
        _write_per_firm(report.per_firm, out)
        console.print(f"wrote {out} ({report.per_firm.height:,} firms)")


def _print_preview(report: previewing.Preview) -> None:
    share = report.total / report.budget * 100 if report.budget else 0
    console.print(
        f"[bold]{report.policy_id}[/bold] on {report.as_of}: {report.qualified:,} of "
        f"{report.firms:,} firms qualify, {report.total:,.2f} yuan = {share:.1f}% of the "
        f"budget {report.budget:,.2f}; {report.errors:,} evaluation errors"
    )
    if report.not_in_force is not None:
        why = i18n.text("en", "promises.preview.not_in_force", why=report.not_in_force)
        console.print(escape(why), style="yellow")
    for uscc, error in report.error_examples:
        console.print(f"  error for {uscc}: {escape(error)}")
    stops = Table("clause", "firms it stops", box=box.SIMPLE_HEAD)
    for text, count in report.clause_stops:
        stops.add_row(escape(text), f"{count:,}")
    console.print(stops)
    for title, frame in (
        ("by district", report.by_district),
        ("by industry section", report.by_section),
    ):
        table = Table(*frame.columns, title=title, box=box.SIMPLE_HEAD)
        for row in frame.iter_rows():
            table.add_row(*(escape(_shown(v)) for v in row))
        console.print(table)
    if report.changes:
        c = report.changes
        console.print(
            f"against published version {c.version}: {c.gained:,} firms gain, {c.lost:,} lose, "
            f"{c.changed_amount:,} change amount"
        )


def _write_per_firm(frame: Any, out: Path) -> None:
    if out.suffix.lower() == ".parquet":
        frame.write_parquet(out)
    elif out.suffix.lower() == ".csv":
        frame.write_csv(out)
    else:
        raise typer.BadParameter(f"{out.name}: write .csv or .parquet", param_hint="--out")


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, float):
        return repr(value)
    if hasattr(value, "quantize"):
        return f"{value:,.2f}"
    return str(value)
