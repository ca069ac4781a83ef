"""Registry commands: `qinqing import …`, `qinqing registry status`, `qinqing demo-data`."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich import box
from rich.markup import escape
from rich.table import Table as RichTable

from subsidy import localtime
from subsidy.console import make_console, progress_bars
from subsidy.db import require_current_schema, session_scope
from subsidy.errors import QinqingError
from subsidy.registry import demo, service
from subsidy.registry.errors import Problem, RegistryValidationError
from subsidy.registry.models import RegistrySnapshot
from subsidy.registry.schema import EMPLOYEES, ENTERPRISES, Table
from subsidy.settings import get_settings

SHOWN_PROBLEMS = 50
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


console = make_console()
err_console = make_console(stderr=True)

import_app = typer.Typer(
    help="Replace a registry with the contents of a file (CSV, XLSX, Parquet)."
)
registry_app = typer.Typer(help="The enterprise and employee registries.")

ErrorsOption = Annotated[
    Path | None,
    typer.Option("--errors", help="Write every problem to this CSV file.", dir_okay=False),
]
FileArgument = Annotated[Path, typer.Argument(help="CSV, XLSX or Parquet file.", dir_okay=False)]


@import_app.command("enterprises")
def import_enterprises(file: FileArgument, errors: ErrorsOption = None) -> None:
    """Replace the enterprise registry with FILE."""
    _import_one(ENTERPRISES, file, errors)


@import_app.command("employees")
def import_employees(file: FileArgument, errors: ErrorsOption = None) -> None:
    """Replace the employee registry with FILE; every employee's firm must be registered."""
    _import_one(EMPLOYEES, file, errors)


@import_app.command("registry")
def import_registry(
    enterprises: FileArgument, employees: FileArgument, errors: ErrorsOption = None
) -> None:
    """Replace both registries at once, in one transaction."""
    settings = get_settings()
    with _refusals(errors), progress_bars() as progress, session_scope() as session:
        snapshots = service.import_registry(
            session, enterprises, employees, data_dir=settings.data_dir, progress=progress
        )
    for snapshot in snapshots:
        _print_accepted(snapshot)


@import_app.command("source")
def import_source(
    name: Annotated[str, typer.Argument(help="The declared source, e.g. tax.")],
    file: FileArgument,
    errors: ErrorsOption = None,
) -> None:
    """Replace the rows of the declared source NAME with FILE; every key must be a registered
    firm (or employee) and appear once."""
    settings = get_settings()
    with _refusals(errors), progress_bars() as progress, session_scope() as session:
        snapshot = service.import_source(
            session, name, file, data_dir=settings.data_dir, progress=progress
        )
    _print_accepted(snapshot)


@registry_app.command("status")
def registry_status() -> None:
    """Show the current snapshot of each registry and declared source, and its row count."""
    with _refusals(None), session_scope() as session:
        rows = service.status(session)
        sources = service.source_status(session)
    table = _table(
        "registry", "rows", "snapshot", "source", f"imported ({localtime.zone_name()})", "sha256"
    )
    for row in rows:
        snap = row.snapshot
        if snap is None:
            table.add_row(row.registry, str(row.rows), "-", "-", "-", "-")
        else:
            table.add_row(
                row.registry,
                f"{row.rows:,}",
                str(snap.id),
                escape(snap.source_name),
                localtime.shown(snap.imported_at),
                snap.content_hash[:8],
            )
    for found in sources:
        snap = found.snapshot
        name = f"{escape(found.source.name)} ({escape(found.source.department)})"
        if snap is None:
            table.add_row(name, "0", "-", "declared, not imported", "-", "-")
        else:
            table.add_row(
                name,
                f"{found.rows:,}",
                str(snap.id),
                escape(snap.source_name),
                localtime.shown(snap.imported_at),
                snap.content_hash[:8],
            )
    console.print(table)


@registry_app.command("districts")
def district_summary() -> None:
    """Firms, active firms and employees per district in the current registry."""
    with _refusals(None), session_scope() as session:
        rows = service.district_summary(session)
    table = _table("district", "firms", "active", "employees", title="registry by district")
    for row in rows:
        table.add_row(
            escape(row.district), f"{row.firms:,}", f"{row.active:,}", f"{row.employees:,}"
        )
    console.print(table)


def _table(*headers: str, title: str | None = None) -> RichTable:
    """A table that folds a long cell rather than cutting it, whatever the terminal's width."""
    table = RichTable(*headers, title=title, box=box.SIMPLE_HEAD)
    for column in table.columns:
        column.overflow = "fold"
    return table


def demo_data(
    firms: Annotated[int, typer.Option(min=1, help="Number of firms.")],
    out: Annotated[Path, typer.Option(file_okay=False, help="Output folder.")],
    seed: Annotated[int, typer.Option(help="Same seed, same files.")] = 2020,
    fmt: Annotated[
        Literal["parquet", "csv", "xlsx"], typer.Option("--format", help="File format.")
    ] = "parquet",
) -> None:
    """Write a realistic demo registry: OUT/enterprises.<ext> and OUT/employees.<ext>."""
    enterprises, employees = demo.generate(firms, seed=seed)
    try:
        paths = demo.write(enterprises, employees, out, fmt)
    except ValueError as exc:
        err_console.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(1) from exc
    for path, frame in zip(paths, (enterprises, employees), strict=True):
        console.print(f"wrote {escape(str(path))} ({frame.height:,} rows)")


def _import_one(table: Table, file: Path, errors: Path | None) -> None:
    settings = get_settings()
    with _refusals(errors), progress_bars() as progress, session_scope() as session:
        snapshot = service.import_file(
            session, table, file, data_dir=settings.data_dir, progress=progress
        )
    _print_accepted(snapshot)


def _print_accepted(snapshot: RegistrySnapshot) -> None:
    console.print(
        f"[green]{snapshot.registry_name}[/green]: {snapshot.row_count:,} rows from "
        f"{snapshot.source_name} as snapshot {snapshot.id} (sha256 {snapshot.content_hash[:12]})"
    )


@contextmanager
def _refusals(errors_file: Path | None) -> Iterator[None]:
    """Check the schema first; turn a refusal into its messages and exit status 1."""
    try:
        require_current_schema()
        yield
    except RegistryValidationError as exc:
        _report(exc, errors_file)
        raise typer.Exit(1) from exc
    except QinqingError as exc:
        err_console.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(1) from exc


def _report(exc: RegistryValidationError, errors_file: Path | None) -> None:
    err_console.print(str(exc), style="red", markup=False, highlight=False)
    for problem in exc.problems[:SHOWN_PROBLEMS]:
        err_console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
    hidden = len(exc.problems) - SHOWN_PROBLEMS
    if hidden > 0:
        hint = "" if errors_file else " (--errors FILE.csv writes them all)"
        err_console.print(f"… and {hidden:,} more{hint}")
    if errors_file:
        write_problems(exc.problems, errors_file)
        err_console.print(f"all {len(exc.problems):,} problems written to {errors_file}")


def write_problems(problems: list[Problem], path: Path) -> None:
    """Every problem as CSV; cells that a spreadsheet would run as a formula are kept as text."""
    with path.open("w", newline="", encoding="utf-8-sig") as file:
        writer = csv.writer(file)
        writer.writerow(["file", "row", "column", "value", "message"])
        for p in problems:
            writer.writerow(
                [_as_text(p.file), p.row or "", p.column or "", _as_text(p.value), p.message]
            )


def _as_text(value: str | None) -> str:
    if value is None:
        return ""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value
