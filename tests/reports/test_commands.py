"""`qinqing report ...` as a user runs it: the workbook written, refusals naming the option."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine

from tests.commands import qinqing, wide_terminal  # noqa: F401 (an autouse fixture)
from tests.reports.helpers import Payouts, build_payouts
from tests.snapshots import Snapshots


@pytest.fixture
def paid(app_env: Engine, data_dir: Path, tmp_path: Path, worlds: Snapshots) -> Payouts:
    return worlds.once("reports", lambda: build_payouts(app_env, data_dir, tmp_path / "registry"))


def test_disbursements_to_a_file(paid: Payouts, tmp_path: Path) -> None:
    out = tmp_path / "march.xlsx"
    code, output = qinqing(
        "report", "disbursements", "--from", "2026-03-01", "--to", "2026-03-31",
        "--policy", "rep-a", "--out", out,
    )  # fmt: skip
    assert code == 0, output
    assert "2026-03-01 to 2026-03-31, policy rep-a" in output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["汇总", "明细", "预算", "异常", "对账差异"]  # Chinese by default
    assert wb.properties.creator.startswith("cli")
    assert {r[3] for r in wb["明细"].iter_rows(min_row=2, values_only=True)} == {"rep-a"}
    assert not list(tmp_path.glob(".*.part"))
    english = tmp_path / "march-en.xlsx"
    code, output = qinqing("report", "disbursements", "--lang", "en", "--out", english)
    assert code == 0, output
    wb = openpyxl.load_workbook(english)
    assert wb.sheetnames == ["Summary", "Ledger", "Budget", "Exceptions", "Mismatches"]
    assert wb["Ledger"]["A1"].value == "Date"
    code, output = qinqing("report", "disbursements", "--lang", "fr", "--out", english)
    assert code == 2
    assert "--lang" in output


def test_policy_funnel_to_a_file(paid: Payouts, tmp_path: Path) -> None:
    out = tmp_path / "funnel.xlsx"
    code, output = qinqing("report", "policy", "rep-a", "--out", out)
    assert code == 0, output
    assert "redeemed 40" in output
    assert openpyxl.load_workbook(out).sheetnames == ["漏斗", "评估错误"]
    code, output = qinqing("report", "policy", "rep-a", "--out", out, "--lang", "en")
    assert code == 0, output
    assert openpyxl.load_workbook(out).sheetnames == ["Funnel", "Evaluation errors"]


@pytest.mark.parametrize(
    ("args", "named", "said"),
    [
        (["--from", "2026-13-01"], "--from", "2026-13-01"),
        (["--to", "yesterday"], "--to", "yesterday"),
        (["--from", "2026-04-01", "--to", "2026-03-01"], "'--from' / '--to'", "after it ends"),
        (["--policy", "nope"], "--policy", "no policy 'nope'"),
    ],
)
def test_disbursement_refusals_name_the_option(
    paid: Payouts, tmp_path: Path, args: list[str], named: str, said: str
) -> None:
    out = tmp_path / "r.xlsx"
    code, output = qinqing("report", "disbursements", *args, "--out", out)
    assert code == 2, output
    assert named in output
    assert said in output
    assert not out.exists()
    assert not list(tmp_path.glob(".*.part"))


def test_other_refusals(paid: Payouts, tmp_path: Path) -> None:
    code, output = qinqing("report", "policy", "nope", "--out", tmp_path / "f.xlsx")
    assert code == 2
    assert "POLICY_ID" in output
    assert "no policy 'nope'" in output
    code, output = qinqing("report", "disbursements", "--out", tmp_path / "r.csv")
    assert code == 2
    assert "--out" in output
    assert ".xlsx" in output
    code, output = qinqing("report", "disbursements", "--out", tmp_path / "no" / "r.xlsx")
    assert code == 2
    assert "does not exist" in output
    code, output = qinqing("report", "disbursements")
    assert code == 2
    assert "--out" in output
