"""A match, a preview, an explanation and a firm's own evaluation over declared sources.

The demo declaration is put in force and its generated files imported; the two example policies
reading them (policies/examples/sources/) are published under it. The match stores what the
reference gives over the joined frames, and each run records the snapshots of the sources.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from matching import preview, service
from matching.models import MatchRun
from policies import evaluation, explain
from policies import service as policy_service
from policies.checking import parameters_of
from policies.document import PolicyDocument, load_path
from subsidy import db
from subsidy.declare import service as declare_service
from subsidy.registry import catalog as catalogs
from subsidy.registry import demo, demo_sources
from subsidy.registry import service as registry_service
from tests.matching._reference import reference as reference_rows
from tests.matching.test_match import stored

EXAMPLES = Path(__file__).parents[2] / "policies" / "examples" / "sources"
AS_OF = dt.date(2020, 6, 30)
POLICIES = ("hz-2020-rd-intensity-award", "hz-2020-stable-employment-award")


def document(policy_id: str) -> PolicyDocument:
    return load_path(EXAMPLES / f"{policy_id}.yaml")


@pytest.fixture
def frames(engine: Engine, data_dir: Path, tmp_path: Path) -> registry_service.RegistryFrames:
    """The demo registry of 200 firms with the demo sources declared and imported, and the two
    source examples published under the declaration."""
    registry = demo.generate(200, seed=11)
    paths = demo.write(*registry, tmp_path / "registry", "parquet")
    with db.session_scope(engine) as session:
        registry_service.import_registry(session, *paths, data_dir=data_dir)
        text = demo_sources.DECLARATION.read_text(encoding="utf-8")
        declare_service.declare(session, text, "demo_sources.yaml", by="officer:test")
    for name, frame in demo_sources.generate(*registry, seed=11).items():
        path = tmp_path / f"{name}.parquet"
        frame.write_parquet(path)
        with db.session_scope(engine) as session:
            registry_service.import_source(session, name, path, data_dir=data_dir)
    with db.session_scope(engine) as session:
        catalog = catalogs.current(session)
        for policy_id in POLICIES:
            doc = document(policy_id)
            approved = policy_service.approve(
                doc, f"{policy_id}.yaml", [service.compile_issues], catalog=catalog
            )
            policy_service.publish(session, approved, by="officer")
    with Session(engine) as session:
        return registry_service.current_frames(session, data_dir)


def reference(frames: registry_service.RegistryFrames, doc: PolicyDocument) -> dict[str, Decimal]:
    rows = reference_rows(
        frames.enterprises,
        frames.employees,
        doc.eligibility,
        doc.amount,
        doc.cap,
        parameters_of(doc),
        AS_OF,
        frames.catalog,
    )
    return {uscc: amount for uscc, qualifies, amount, _ in rows if qualifies and amount}


def test_publishing_without_the_declaration_is_refused(engine: Engine) -> None:
    from policies.errors import PolicyDocumentError

    with pytest.raises(PolicyDocumentError):
        policy_service.approve(document(POLICIES[0]), "x.yaml", [service.compile_issues])


def test_a_match_over_declared_sources_stores_what_the_reference_gives_and_its_snapshots(
    engine: Engine, data_dir: Path, frames: registry_service.RegistryFrames
) -> None:
    assert set(frames.source_snapshots) == {demo_sources.TAX, demo_sources.SOCIAL_INSURANCE}
    with db.session_scope(engine) as session:
        runs = service.run_match(session, data_dir, as_of=AS_OF)
    assert [r.failure for r in runs] == [None, None]
    for policy_id in POLICIES:
        want = reference(frames, document(policy_id))
        assert want, f"{policy_id} qualifies some demo firms"
        assert stored(engine, policy_id) == want
    expected = {name: s.id for name, s in frames.source_snapshots.items()}
    with Session(engine) as session:
        recorded = session.execute(select(col(MatchRun.source_snapshots))).scalars().all()
    assert [json.loads(r) for r in recorded if r] == [expected, expected]


def test_a_firm_evaluated_alone_reads_its_declared_columns_as_the_match_does(
    engine: Engine, frames: registry_service.RegistryFrames
) -> None:
    """The per-firm path of explanations and redemptions (indexed look-ups, no frames) gives
    each firm the outcome the whole-registry reference gives it."""
    for policy_id in POLICIES:
        doc = document(policy_id)
        want = reference(frames, doc)
        sample = sorted(want)[:3] + sorted(set(frames.enterprises["uscc"]) - set(want))[:3]
        with Session(engine) as session:
            catalog = catalogs.current(session)
            for uscc in sample:
                record = explain.registered_firm(session, uscc, catalog)
                assert record is not None
                outcome = evaluation.evaluate(doc, record, AS_OF, catalog)
                assert outcome.error is None
                assert (outcome.amount if outcome.qualifies else None) == want.get(uscc)


def test_an_explanation_shows_the_declared_values_read(
    engine: Engine, frames: registry_service.RegistryFrames
) -> None:
    doc = document(POLICIES[0])
    uscc = sorted(reference(frames, doc))[0]
    with Session(engine) as session:
        catalog = catalogs.current(session)
        record = explain.registered_firm(session, uscc, catalog)
    assert record is not None
    why = explain.explain(doc, record, AS_OF, catalog)
    assert why.qualifies
    reads = {name: r for c in why.clauses for name, r in c.reads.items()}
    assert reads["rd_expense"].text("en").endswith("yuan")


def test_a_preview_reads_the_declared_sources(
    engine: Engine, data_dir: Path, frames: registry_service.RegistryFrames
) -> None:
    doc = document(POLICIES[1])
    with Session(engine) as session:
        report = preview.preview(session, data_dir, doc, AS_OF)
    assert report.qualified == len(reference(frames, doc))
    assert report.errors == 0


def test_a_run_is_reproduced_from_the_snapshots_it_recorded(
    engine: Engine, data_dir: Path, tmp_path: Path, frames: registry_service.RegistryFrames
) -> None:
    """After the tax source is imported again with other values, the run's recorded snapshots
    still give the frames it read (`registry.service.frames_of`)."""
    with db.session_scope(engine) as session:
        (run, _) = service.run_match(session, data_dir, as_of=AS_OF)
        recorded = json.loads(run.source_snapshots or "{}")
    changed = frames.enterprises.select("uscc", "rd_expense", "export_revenue").head(5)
    path = tmp_path / "tax-again.parquet"
    changed.write_parquet(path)
    with db.session_scope(engine) as session:
        registry_service.import_source(session, demo_sources.TAX, path, data_dir=data_dir)
    with Session(engine) as session:
        assert not registry_service.current_frames(session, data_dir).enterprises.equals(
            frames.enterprises
        )
        again = registry_service.frames_of(
            session, data_dir, frames.enterprise_snapshot, frames.employee_snapshot, recorded
        )
    assert again.enterprises.equals(frames.enterprises)
    assert again.employees.equals(frames.employees)
