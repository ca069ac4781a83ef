"""Matching runs, previews and explanations on a stored registry, against the reference."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from matching import preview, service
from matching.models import MatchRun, Qualification
from policies import explain
from policies import service as policy_service
from policies.checking import parameters_of
from policies.document import PolicyDocument, load_path
from policies.models import PolicyState
from subsidy import db
from subsidy.registry import demo
from subsidy.registry import service as registry_service
from tests.matching._reference import reference as reference_rows
from tests.policies.two_officers import change_state

EXAMPLES = Path(__file__).parents[2] / "policies" / "examples"
AS_OF = dt.date(2020, 6, 30)
POLICIES = ("hz-2020-ui-refund", "hz-2020-local-wage-support", "hz-2020-new-hire-subsidy")


def document(policy_id: str, **changes: object) -> PolicyDocument:
    return load_path(EXAMPLES / f"{policy_id}.yaml").model_copy(update=changes)


def publish(engine: Engine, doc: PolicyDocument) -> None:
    approved = policy_service.approve(doc, f"{doc.id}.yaml", [service.compile_issues])
    with db.session_scope(engine) as session:
        policy_service.publish(session, approved, by="officer")


@pytest.fixture
def registry(engine: Engine, data_dir: Path, tmp_path: Path) -> registry_service.RegistryFrames:
    paths = demo.write(*demo.generate(300, seed=7), tmp_path / "registry", "parquet")
    with db.session_scope(engine) as session:
        registry_service.import_registry(session, *paths, data_dir=data_dir)
    with Session(engine) as session:
        return registry_service.current_frames(session, data_dir)


def reference(frames: registry_service.RegistryFrames, doc: PolicyDocument) -> dict[str, Decimal]:
    """Every qualifying firm and its amount, one firm at a time through rule-engine."""
    rows = reference_rows(
        frames.enterprises,
        frames.employees,
        doc.eligibility,
        doc.amount,
        doc.cap,
        parameters_of(doc),
        AS_OF,
    )
    return {uscc: amount for uscc, qualifies, amount, _ in rows if qualifies and amount}


def stored(engine: Engine, policy_id: str) -> dict[str, Decimal]:
    with Session(engine) as session:
        rows = session.execute(
            select(col(Qualification.uscc), col(Qualification.amount)).where(
                col(Qualification.policy_id) == policy_id
            )
        ).all()
    return {uscc: amount for uscc, amount in rows}  # noqa: C416 (rows are Row, not tuples)


def test_match_stores_exactly_what_the_reference_gives(
    engine: Engine, data_dir: Path, registry: registry_service.RegistryFrames
) -> None:
    for policy_id in POLICIES:
        publish(engine, document(policy_id))
    with db.session_scope(engine) as session:
        runs = service.run_match(session, data_dir, as_of=AS_OF)
    assert sorted(r.policy_id for r in runs) == sorted(POLICIES)
    for policy_id in POLICIES:
        expected = reference(registry, document(policy_id))
        assert expected, f"{policy_id} should reach some demo firms"
        assert stored(engine, policy_id) == expected
        run = next(r for r in runs if r.policy_id == policy_id)
        assert (run.qualified, run.total_amount) == (len(expected), sum(expected.values()))
        assert run.enterprise_snapshot_id == registry.enterprise_snapshot.id


def test_a_second_match_replaces_the_first(
    engine: Engine, data_dir: Path, registry: registry_service.RegistryFrames
) -> None:
    publish(engine, document("hz-2020-ui-refund"))
    for _ in range(2):
        with db.session_scope(engine) as session:
            service.run_match(session, data_dir, as_of=AS_OF)
    with Session(engine) as session:
        runs = session.execute(select(MatchRun)).scalars().all()
        rows = session.execute(select(Qualification)).scalars().all()
    assert len(runs) == 2
    assert {q.run_id for q in rows} == {max(r.id or 0 for r in runs)}
    assert len(rows) == len(reference(registry, document("hz-2020-ui-refund")))


def test_suspended_policies_are_not_matched(
    engine: Engine, data_dir: Path, registry: registry_service.RegistryFrames
) -> None:
    publish(engine, document("hz-2020-ui-refund"))
    with db.session_scope(engine) as session:
        change_state(session, "hz-2020-ui-refund", PolicyState.SUSPENDED)
        assert service.run_match(session, data_dir, as_of=AS_OF) == []


def test_preview_counts_agree_with_the_reference_and_the_published_version(
    engine: Engine, data_dir: Path, registry: registry_service.RegistryFrames
) -> None:
    publish(engine, document("hz-2020-ui-refund"))
    richer = document("hz-2020-ui-refund", cap=Decimal("100.00"))
    expected = reference(registry, richer)
    with Session(engine) as session:
        report = preview.preview(session, data_dir, richer, AS_OF)
    assert report.qualified == len(expected)
    assert report.total == sum(expected.values())
    assert report.by_district["firms"].sum() == len(expected)
    assert report.per_firm.height == registry.enterprises.height
    per_firm = report.per_firm.filter(pl.col("eligible"))
    assert dict(per_firm.select("uscc", "amount").iter_rows()) == expected
    published = reference(registry, document("hz-2020-ui-refund"))
    assert report.changes is not None
    assert report.changes.version == 1
    assert report.changes.changed_amount == sum(
        1 for uscc, amount in published.items() if uscc in expected and expected[uscc] != amount
    )
    assert (report.changes.gained, report.changes.lost) == (0, 0)
    clauses = dict(report.clause_stops)
    assert (
        clauses["status == 'active'"]
        == registry.enterprises.filter(pl.col("status") != "active").height
    )


def test_explanation_agrees_with_the_match(
    engine: Engine, data_dir: Path, registry: registry_service.RegistryFrames
) -> None:
    doc = document("hz-2020-ui-refund")
    expected = reference(registry, doc)
    winner = next(iter(expected))
    loser = registry.enterprises.filter(pl.col("status") != "active")["uscc"][0]
    for uscc in (winner, loser):
        record = explain.firm_of(registry.enterprises, registry.employees, uscc)
        result = explain.explain(doc, record, AS_OF)
        assert result.qualifies == (uscc in expected)
        assert result.amount == expected.get(uscc)
        assert all(c.reads for c in result.clauses)
    assert result.clauses[0].value is False
    assert result.clauses[0].reads["status"].value != "active"


def test_an_amount_money_cannot_hold_fails_the_policy_naming_it(
    engine: Engine, data_dir: Path, registry: registry_service.RegistryFrames
) -> None:
    base = document("hz-2020-ui-refund")
    tests = [
        t.model_copy(update={"expect": t.expect.model_copy(update={"amount": None})})
        for t in base.tests
    ]
    huge = base.model_copy(
        update={"amount": "ui_premium * 10000000000", "cap": None, "tests": tests}
    )
    publish(engine, huge)
    with db.session_scope(engine) as session:
        (run,) = service.run_match(session, data_dir, as_of=AS_OF)
        assert run.failure is not None
        assert run.failure.startswith("policy hz-2020-ui-refund v1 gives 9")
        assert run.failure.endswith("set a cap")
    with Session(engine) as session:
        assert session.execute(select(Qualification)).first() is None
