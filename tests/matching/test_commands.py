"""The policy, match, explain and preview commands as an officer runs them."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from tests.commands import qinqing, wide_terminal  # noqa: F401 (an autouse fixture)

EXAMPLES = Path(__file__).parents[2] / "policies" / "examples"
UI_REFUND = EXAMPLES / "hz-2020-ui-refund.yaml"


@pytest.fixture
def registry(app_env: Engine, tmp_path: Path) -> Path:
    out = tmp_path / "registry"
    assert qinqing("demo-data", "--firms", "200", "--out", out)[0] == 0
    code, output = qinqing(
        "import", "registry", out / "enterprises.parquet", out / "employees.parquet"
    )
    assert code == 0, output
    return out


def test_validate_and_test_an_example(app_env: Engine) -> None:
    code, output = qinqing("policy", "validate", UI_REFUND)
    assert (code, "valid" in output) == (0, True)
    code, output = qinqing("policy", "test", UI_REFUND)
    assert code == 0
    assert "3 passed, 0 failed" in output


def test_a_typo_is_refused_with_line_column_and_suggestion(app_env: Engine, tmp_path: Path) -> None:
    text = UI_REFUND.read_text(encoding="utf-8").replace("status == 'active'", "statsu == 'active'")
    bad = tmp_path / "typo.yaml"
    bad.write_text(text, encoding="utf-8")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "statsu" in t)
    column = text.splitlines()[line - 1].index("statsu") + 1
    code, output = qinqing("policy", "publish", bad)
    assert code == 1
    assert f"typo.yaml:{line}:{column}: eligibility: unknown symbol 'statsu'" in output
    assert "status" in output.split("statsu", 2)[-1]
    assert "hz-2020-ui-refund" not in qinqing("policy", "list")[1]  # nothing was stored


def test_publish_list_show_and_two_officers_suspend_and_close(app_env: Engine) -> None:
    code, output = qinqing("policy", "publish", UI_REFUND, "--by", "officer-7")
    assert (code, "published hz-2020-ui-refund version 1" in output) == (0, True)
    assert "already holds this document" in qinqing("policy", "publish", UI_REFUND)[1]
    listed = qinqing("policy", "list")[1]  # Chinese by default, English with --lang en
    assert "已发布" in listed
    assert "杭州市2020年失业保险稳岗返还" in listed
    listed = qinqing("policy", "list", "--lang", "en")[1]
    assert "published" in listed
    assert "Unemployment-insurance refund for job retention" in listed
    code, output = qinqing("policy", "show", "hz-2020-ui-refund")
    assert code == 0
    assert "杭州市2020年失业保险稳岗返还 — 已发布" in output
    assert "by officer-7" in output
    assert '"refund_rate"' in output
    ui = "hz-2020-ui-refund"
    asked = qinqing("policy", "request-suspend", ui, "--reason", "audit", "--by", "li")[1]
    assert "request 1: suspend hz-2020-ui-refund, pending" in asked
    assert "is now suspended" in qinqing("policy", "confirm", "1", "--by", "wang")[1]
    qinqing("policy", "request-close", ui, "--reason", "ended", "--by", "wang")
    assert "officer:wang" in qinqing("policy", "requests")[1]
    assert "is now closed" in qinqing("policy", "confirm", "2", "--by", "li")[1]
    code, output = qinqing("policy", "request-suspend", ui, "--reason", "again", "--by", "li")
    assert code == 1
    assert "cannot become suspended" in output
    code, output = qinqing("policy", "show", "no-such-policy")
    assert (code, "no policy 'no-such-policy'" in output) == (1, True)


def test_match_explain_and_preview(app_env: Engine, registry: Path, tmp_path: Path) -> None:
    assert qinqing("policy", "publish", UI_REFUND)[0] == 0
    code, output = qinqing("match", "--as-of", "2020-06-30")
    assert code == 0, output
    assert "hz-2020-ui-refund" in output
    out = tmp_path / "preview.csv"
    code, output = qinqing("policy", "preview", UI_REFUND, "--as-of", "2020-06-30", "--out", out)
    assert code == 0, output
    assert "firms it stops" in output
    wage_support = EXAMPLES / "hz-2020-local-wage-support.yaml"
    code, output = qinqing("policy", "preview", wage_support, "--as-of", "2020-06-30")
    assert code == 0, output
    assert "[e for e in employees if e.local_hukou" in output  # rule text is never markup
    per_firm = pl.read_csv(out)
    assert per_firm.columns == ["uscc", "eligible", "amount"]
    assert per_firm.height == 200
    winner = per_firm.filter(pl.col("eligible"))["uscc"][0]
    code, output = qinqing("explain", winner, "hz-2020-ui-refund", "--as-of", "2020-06-30")
    assert code == 0, output
    assert f"{winner} qualifies for" in output
    assert "status = active" in output
    assert "(The firm is active)" in output  # the clause's label
    code, output = qinqing("explain", "91330106000000000X", "hz-2020-ui-refund")
    assert (code, "no firm 91330106000000000X" in output) == (1, True)
