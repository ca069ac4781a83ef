"""Consoles for the CLI: the terminal's width on a terminal, wide unfolded tables in a pipe."""

from __future__ import annotations

from rich.console import Console

PIPE_WIDTH = 200


def make_console(stderr: bool = False) -> Console:
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=PIPE_WIDTH)
