"""Every `qinqing` command the production guide, the systemd units and the Procfile use exists,
with the options they give it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from subsidy.cli import app

ROOT = Path(__file__).parents[2]
GUIDE = ROOT / "docs" / "PRODUCTION.md"
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))


def _from_guide() -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL):
        lines += block.replace("\\\n", " ").splitlines()
    lines += re.findall(r"`([^`\n]*qinqing [^`\n]*)`", text)
    return lines


def _from_units() -> list[str]:
    return [
        line.removeprefix("ExecStart=")
        for unit in UNITS
        for line in unit.read_text(encoding="utf-8").splitlines()
        if line.startswith("ExecStart=")
    ]


def _from_procfile() -> list[str]:
    lines = (ROOT / "Procfile").read_text(encoding="utf-8").splitlines()
    return [line.split(":", 1)[1] for line in lines if line.strip()]


def _invocations(lines: list[str]) -> list[list[str]]:
    found = []
    for line in lines:
        words = shlex.split(line.split(" #")[0], comments=False)
        starts = [
            i
            for i, w in enumerate(words)
            if (i == 0 and w == "qinqing") or w.endswith("/bin/qinqing")  # not a user name
        ]
        if starts and words[starts[0] + 1 :]:
            found.append(words[starts[0] + 1 :])
    return found


COMMANDS = _invocations(_from_guide() + _from_units() + _from_procfile())


def test_the_guide_and_the_units_name_the_processes() -> None:
    named = {" ".join(words[:1]) for words in COMMANDS}
    assert {"serve", "worker", "beat", "db", "notify", "sign-in", "audit"} <= named
    assert {unit.name for unit in UNITS} >= {
        "qinqing-web.service",
        "qinqing-worker.service",
        "qinqing-beat.service",
    }


@pytest.mark.parametrize("words", COMMANDS, ids=lambda words: " ".join(words))
def test_each_command_exists_with_its_options(words: list[str]) -> None:
    command: Any = typer.main.get_command(app)  # typer's own click: groups have `commands`
    rest = list(words)
    while hasattr(command, "commands") and rest and rest[0] in command.commands:
        command = command.commands[rest.pop(0)]
    assert not hasattr(command, "commands"), f"no such command: qinqing {' '.join(words)}"
    options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
    for word in rest:
        if word.startswith("--"):
            assert word.split("=")[0] in options, f"qinqing {' '.join(words)}: {word}"
