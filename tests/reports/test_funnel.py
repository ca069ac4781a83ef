"""The policy funnel: every number equals a direct count over the database; evaluation errors
are the match run's, found again and explained."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from matching.models import MatchRun, Qualification
from reports import funnel
from reports.errors import UnknownPolicy
from subsidy import db
from subsidy.redemption.models import Redemption, RedemptionStatus
from subsidy.registry.models import Enterprise
from tests.reports.helpers import Payouts, table_rows

ZERO = Decimal("0.00")


def write(engine: Engine, data_dir: Path, policy_id: str, path: Path) -> Any:
    """The funnel in English (its words in both languages: test_words.py)."""
    with db.session_scope(engine) as session:
        funnel.write(session, policy_id, path, by="officer:test", data_dir=data_dir, language="en")
    return openpyxl.load_workbook(path)


def truth(engine: Engine, policy_id: str, by: str) -> dict[str, dict[str, tuple[int, Decimal]]]:
    """Per group and stage: (firms, amount), counted in Python over the rows."""
    with Session(engine) as session:
        firms = {e.uscc: e for e in session.execute(select(Enterprise)).scalars()}
        qualified = list(
            session.execute(
                select(Qualification).where(col(Qualification.policy_id) == policy_id)
            ).scalars()
        )
        redemptions = list(
            session.execute(
                select(Redemption).where(col(Redemption.policy_id) == policy_id)
            ).scalars()
        )

    def key(uscc: str) -> str:
        firm = firms.get(uscc)
        if by == "all":
            return ""
        if firm is None:
            return "(not in registry)"
        return str(firm.district if by == "district" else firm.industry[0])

    found: dict[str, dict[str, tuple[int, Decimal]]] = defaultdict(
        lambda: dict.fromkeys(funnel.STAGES, (0, ZERO))
    )

    def add(stage: str, uscc: str, amount: Decimal) -> None:
        n, total = found[key(uscc)][stage]
        found[key(uscc)][stage] = (n + 1, total + amount)

    for q in qualified:
        add("qualified", q.uscc, q.amount)
    for r in redemptions:
        if r.status != RedemptionStatus.REVERSED:
            add("redeemed", r.uscc, r.amount)
        if r.status == RedemptionStatus.PAID:
            add("paid", r.uscc, r.amount)
    return found


def money(value: Any) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def test_funnel_numbers_equal_direct_counts(
    engine: Engine, data_dir: Path, matched: Payouts, tmp_path: Path
) -> None:
    wb = write(engine, data_dir, "rep-a", tmp_path / "f.xlsx")
    sheet = wb["Funnel"]
    _, stages, _ = table_rows(sheet, "Stages")
    total = truth(engine, "rep-a", "all")[""]
    assert [(r[0], r[1], money(r[2])) for r in stages] == [
        (stage.capitalize(), *total[stage]) for stage in funnel.STAGES
    ]
    assert total["paid"] == (12, Decimal("12000.00"))
    assert total["redeemed"] == (39, Decimal("39000.00"))  # 40 redeemed, one reversed
    assert money(stages[1][3]) == (Decimal(39) / Decimal(total["qualified"][0])).quantize(
        Decimal("0.0001")
    )
    for table, by in (("FunnelByDistrict", "district"), ("FunnelBySection", "section")):
        _, rows, below = table_rows(sheet, table)
        expected = truth(engine, "rep-a", by)
        got = {
            r[0]: {
                "qualified": (r[1], money(r[2])),
                "redeemed": (r[3], money(r[4])),
                "paid": (r[5], money(r[6])),
            }
            for r in rows
        }
        assert got == dict(expected)
        assert below[0] == "Total"
        assert (below[1], money(below[2]), below[5], money(below[6])) == (
            *total["qualified"],
            *total["paid"],
        )
        assert all(r[9] == 0 for r in rows)  # the flat policy never errs
    assert wb.properties.title == "Qinqing policy funnel"
    # every page is headed by the report, the policy and the day it was matched as of
    header = wb["Funnel"].oddHeader.center.text
    assert header.startswith("Qinqing policy funnel · rep-a ")
    assert header.endswith(" (as of 2020-06-30) · &A")
    assert wb.properties.creator == "officer:test"
    assert "rep-a" in wb.properties.subject


def test_evaluation_errors_are_the_runs_and_explained(
    engine: Engine, data_dir: Path, matched: Payouts, tmp_path: Path
) -> None:
    wb = write(engine, data_dir, "hz-2020-ui-refund", tmp_path / "f.xlsx")
    with Session(engine) as session:
        run = session.execute(
            select(MatchRun).where(col(MatchRun.policy_id) == "hz-2020-ui-refund")
        ).scalar_one()
    assert run.evaluation_errors >= 1
    _, rows, below = table_rows(wb["Evaluation errors"], "EvaluationErrors")
    assert len(rows) == run.evaluation_errors
    assert below[1] == f"{run.evaluation_errors:,} firms"
    assert all(r[4] for r in rows)  # each explained by the reference evaluator
    _, districts, total = table_rows(wb["Funnel"], "FunnelByDistrict")
    assert sum(r[9] for r in districts) == total[9] == run.evaluation_errors
    with Session(engine) as session:
        errored = {r[0] for r in rows}
        by_district = {
            e.district
            for e in session.execute(
                select(Enterprise).where(col(Enterprise.uscc).in_(errored))
            ).scalars()
        }
    assert {r[0] for r in districts if r[9]} == by_district


def test_without_the_runs_snapshots_only_the_count_is_known(
    engine: Engine, data_dir: Path, matched: Payouts, tmp_path: Path
) -> None:
    for parquet in data_dir.rglob("*.parquet"):
        parquet.unlink()
    wb = write(engine, data_dir, "hz-2020-ui-refund", tmp_path / "f.xlsx")
    assert "only the count" in wb["Evaluation errors"]["A1"].value
    _, _, total = table_rows(wb["Funnel"], "FunnelByDistrict")
    with Session(engine) as session:
        run = session.execute(
            select(MatchRun).where(col(MatchRun.policy_id) == "hz-2020-ui-refund")
        ).scalar_one()
    assert total[9] == run.evaluation_errors


def test_an_unmatched_policy_and_an_unknown_one(
    engine: Engine, data_dir: Path, payouts: Payouts, tmp_path: Path
) -> None:
    wb = write(engine, data_dir, "rep-b", tmp_path / "f.xlsx")
    _, stages, _ = table_rows(wb["Funnel"], "Stages")
    assert stages[0][1] == 0  # not matched: nothing qualified
    assert stages[1][1] == 30  # yet redeemed (the fixture redeems without a match)
    assert "not been matched" in wb["Evaluation errors"]["A1"].value
    with db.session_scope(engine) as session, pytest.raises(UnknownPolicy, match="nope"):
        funnel.write(session, "nope", tmp_path / "x.xlsx", by="t", data_dir=data_dir)
    assert not (tmp_path / "x.xlsx").exists()
