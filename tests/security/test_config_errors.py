"""Configuration errors were printed as tracebacks. Now any `qinqing` command, and uvicorn
importing the app factory, print one line (`qinqing: configuration: ...` naming the variable)
on stderr and exit with status 2; pydantic's errors are `QINQING_<FIELD>: <message>`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from subsidy.errors import ConfigurationError
from subsidy.settings import get_settings

QINQING = Path(sys.executable).with_name("qinqing")
PRODUCTION = {
    "QINQING_ENVIRONMENT": "production",
    "QINQING_SECRET_KEY": "a-production-secret-of-more-than-32-bytes",
    "QINQING_BANK_URL": "files:/srv/bank",
    "QINQING_AUDIT_KEY": "a-production-audit-key-of-more-than-32-bytes",
}


def run(
    command: list[str], settings: dict[str, str], folder: Path
) -> subprocess.CompletedProcess[str]:
    """The command in a clean environment (no QINQING_ variable but `settings`, no .env file)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QINQING_")}
    env |= {"QINQING_DATABASE_URL": f"sqlite:///{folder / 'q.db'}"} | settings
    return subprocess.run(  # our own interpreter and entry point
        command, cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def assert_one_line(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("qinqing: configuration: "), lines[0]
    for text in expected:
        assert text in lines[0], lines[0]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            PRODUCTION | {"QINQING_SECRET_KEY": "x"},
            ["QINQING_SECRET_KEY is shorter than 32 bytes", "secrets.token_urlsafe(32)"],
        ),
        ({"QINQING_TODAY": "2020-13-01"}, ["QINQING_TODAY: ", "month value is outside"]),
    ],
    ids=["short secret", "bad date"],
)
def test_qinqing_prints_one_line_and_exits_2(
    tmp_path: Path, settings: dict[str, str], expected: list[str]
) -> None:
    assert_one_line(run([str(QINQING), "registry", "status"], settings, tmp_path), *expected)


def test_uvicorn_importing_the_factory_prints_one_line(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "subsidy.app:create_app",
        "--factory",
        "--port",
        "0",
    ]
    done = run(command, PRODUCTION | {"QINQING_SECRET_KEY": "short"}, tmp_path)
    assert_one_line(done, "QINQING_SECRET_KEY is shorter than 32 bytes")


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"QINQING_TODAY": "2020-13-01", "QINQING_SESSION_HOURS": "-1"},
            "QINQING_TODAY: Input should be a valid date or datetime, month value is outside "
            "expected range of 1-12 (got '2020-13-01'); QINQING_SESSION_HOURS: Input should be "
            "greater than 0 (got '-1')",
        ),
        ({"QINQING_PAYOUT_BACKOFF_SECONDS": "-1"}, "QINQING_PAYOUT_BACKOFF_SECONDS: Input should"),
        ({"QINQING_ENVIRONMENT": "prod"}, "QINQING_ENVIRONMENT: Input should be 'development'"),
        ({"QINQING_METRICS_CLIENTS": "10.0.0.300"}, "QINQING_METRICS_CLIENTS: "),
        (PRODUCTION | {"QINQING_SECRET_KEY": "hunter2"}, "QINQING_SECRET_KEY is shorter"),
    ],
    ids=["two at once", "negative number", "unknown environment", "bad address", "short secret"],
)
def test_every_bad_setting_is_named_on_one_line(
    monkeypatch: pytest.MonkeyPatch, settings: dict[str, str], expected: str
) -> None:
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with pytest.raises(ConfigurationError) as refused:
        get_settings()
    get_settings.cache_clear()
    said = str(refused.value)
    assert said.startswith(expected), said
    assert "\n" not in said
    assert "hunter2" not in said  # a secret is never shown
