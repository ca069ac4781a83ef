"""Running `qinqing` in the test process, as the command-line tests of every domain do."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from subsidy.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Import it into a test module: rich wraps at 80 columns otherwise, splitting lines."""
    monkeypatch.setenv("COLUMNS", "200")


def qinqing(*args: str | Path | int) -> tuple[int, str]:
    """Exit status and output; an exception other than SystemExit is raised, with its traceback."""
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output
