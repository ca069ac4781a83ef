"""`qinqing registry declare FILE.yaml` and `qinqing registry catalog`.

Attached to the `registry` group by the assembly (`subsidy/cli.py`): the registry package sits
below the audit trail and the policies a declaration is checked against, so it cannot hold them.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table as RichTable

from subsidy.actors import actor
from subsidy.auth import Role
from subsidy.console import make_console, refusals
from subsidy.db import require_current_schema, session_scope
from subsidy.declare import service
from subsidy.registry.errors import DeclarationError, DeclarationProblem

console = make_console()

DeclarationFile = Annotated[
    Path,
    typer.Argument(
        help="The registry declaration (YAML).", exists=True, dir_okay=False, readable=True
    ),
]


def declare(
    file: DeclarationFile,
    by: Annotated[
        str, typer.Option("--by", help="The officer who declares (recorded as officer:NAME).")
    ] = getpass.getuser(),
) -> None:
    """Declare the sources FILE names: the next version of the registry declaration."""
    with refusals():
        text = _text(file)
        require_current_schema()
        with session_scope() as session:
            declared = service.declare(session, text, file.name, by=actor(Role.OFFICER, by))
            version = declared.declaration.version
            catalog = declared.catalog
    if not declared.created:
        console.print(f"unchanged: declaration version {version} declares this already")
        return
    columns = sum(len(s.columns) for s in catalog.sources)
    console.print(
        f"declared version {version}: {len(catalog.sources)} sources, {columns} columns",
        markup=False,
    )
    for source in catalog.sources:
        names = ", ".join(c.name for c in source.columns)
        console.print(
            f"  {source.name} ({source.key.value}, {source.department}): {names}", markup=False
        )


def catalog() -> None:
    """Every column a rule may read: name, label, type, source, department, nullable."""
    with refusals(), session_scope() as session:
        view = service.catalog_view(session)
    table = RichTable(
        title=f"declaration version {view.version}" if view.version else "built-in registries",
        box=box.SIMPLE_HEAD,
    )
    for header in ("column", "label", "type", "scope", "source", "department", "nullable"):
        table.add_column(header, overflow="fold")
    for c in view.columns:
        table.add_row(
            escape(c.name),
            escape(f"{c.label_zh} / {c.label_en}"),
            c.type,
            c.scope,
            escape(c.source),
            escape(c.department or "-"),
            "yes" if c.nullable else "no",
        )
    console.print(table)


def _text(file: Path) -> str:
    """The file as UTF-8, or a refusal naming the byte that is not."""
    data = file.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        detail = f"not UTF-8: byte {data[exc.start]:#04x}; save the file as UTF-8"
        problem = DeclarationProblem(file.name, "", line, "declaration.yaml", {"detail": detail})
        raise DeclarationError(file.name, [problem]) from exc
