"""Consoles for the CLI: the terminal's width on a terminal, wide unfolded tables in a pipe."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from subsidy.errors import QinqingError

PIPE_WIDTH = 200


def make_console(stderr: bool = False) -> Console:
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=PIPE_WIDTH)


class _Bars:
    """A `subsidy.progress.Progress` drawn as a rich bar for the current stage."""

    def __init__(self, bars: Progress) -> None:
        self._bars = bars
        self._task: TaskID | None = None

    def stage(self, name: str, total: int | None = None) -> None:
        if self._task is not None:
            self._bars.remove_task(self._task)
        self._task = self._bars.add_task(name, total=total)

    def advance(self, units: int) -> None:
        if self._task is not None:
            self._bars.advance(self._task, units)


@contextmanager
def progress_bars() -> Iterator[_Bars]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=make_console(stderr=True),
        transient=True,
    ) as bars:
        yield _Bars(bars)


@contextmanager
def refusals() -> Iterator[None]:
    """A refusal (any QinqingError) as its message on stderr, and exit status 1."""
    try:
        yield
    except QinqingError as exc:
        make_console(stderr=True).print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc
