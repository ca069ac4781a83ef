"""Only true promises: a policy outside its validity window on the as-of date qualifies nobody,
and the match, the preview, the explanation and `qinqing explain` say the same."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from matching import preview, service
from matching.compiler import prepare
from matching.models import Qualification
from policies import evaluation, explain
from policies import service as policy_service
from policies.document import PolicyDocument, load_path
from subsidy import db
from subsidy.registry import demo
from subsidy.registry import service as registry_service
from tests.commands import qinqing, wide_terminal  # noqa: F401 (an autouse fixture)

EXAMPLES = Path(__file__).parents[2] / "policies" / "examples"

# (policy, a day it is in force, a day it is not, the words for that day)
CASES = [
    pytest.param(
        "hz-2020-spring-festival-stay",  # automatic, 2020-02-10 .. 2020-05-31
        dt.date(2020, 5, 31),
        dt.date(2020, 6, 30),
        ("已过期", "(expired): valid 2020-02-10 … 2020-05-31"),
        id="expired",
    ),
    pytest.param(
        "hz-2020-job-retention-bonus",  # one-click, 2020-05-01 .. 2020-12-31
        dt.date(2020, 5, 1),
        dt.date(2020, 4, 30),
        ("尚未生效", "(not yet valid): valid 2020-05-01 … 2020-12-31"),
        id="not-yet-valid",
    ),
]


def example(policy_id: str) -> PolicyDocument:
    return load_path(EXAMPLES / f"{policy_id}.yaml")


@pytest.fixture
def frames(app_env: Engine, data_dir: Path, tmp_path: Path) -> registry_service.RegistryFrames:
    paths = demo.write(*demo.generate(300, seed=7), tmp_path / "registry", "parquet")
    with db.session_scope(app_env) as session:
        registry_service.import_registry(session, *paths, data_dir=data_dir)
    with Session(app_env) as session:
        return registry_service.current_frames(session, data_dir)


def publish(engine: Engine, document: PolicyDocument) -> None:
    approved = policy_service.approve(document, f"{document.id}.yaml", [service.compile_issues])
    with db.session_scope(engine) as session:
        policy_service.publish(session, approved, by="officer")


def stored(engine: Engine, policy_id: str) -> int:
    with Session(engine) as session:
        query = select(func.count()).where(col(Qualification.policy_id) == policy_id)
        return int(session.execute(query).scalar_one())


@pytest.mark.parametrize(("policy_id", "inside", "outside", "words"), CASES)
def test_outside_its_window_a_policy_qualifies_nobody_everywhere(
    app_env: Engine,
    data_dir: Path,
    frames: registry_service.RegistryFrames,
    policy_id: str,
    inside: dt.date,
    outside: dt.date,
    words: tuple[str, str],
) -> None:
    document = example(policy_id)
    publish(app_env, document)
    with db.session_scope(app_env) as session:
        (run,) = service.run_match(session, data_dir, as_of=inside)
    qualified = run.qualified
    assert qualified > 0, "the demo registry has firms for it while it is in force"
    assert stored(app_env, policy_id) == qualified
    with Session(app_env) as session:  # closed: an open read would block the next TRUNCATE
        query = select(col(Qualification.uscc)).where(col(Qualification.policy_id) == policy_id)
        firm = session.execute(query).scalars().first()
    assert firm is not None

    # the match: nobody, and what the earlier match stored gives way to nothing
    with db.session_scope(app_env) as session:
        (run,) = service.run_match(session, data_dir, as_of=outside)
        assert (run.failure, run.qualified, run.evaluation_errors) == (None, 0, 0)
        assert run.total_amount == 0
    assert stored(app_env, policy_id) == 0

    # the preview: nobody, and it says why; inside the window it agrees with the match
    with Session(app_env) as session:
        out = preview.preview(session, data_dir, document, outside)
        within = preview.preview(session, data_dir, document, inside)
    assert (out.qualified, out.per_firm["eligible"].any()) == (0, False)
    assert out.total == 0
    assert out.not_in_force is not None
    assert words[1] in str(out.not_in_force)
    assert within.not_in_force is None
    assert within.qualified == qualified

    # the explanation and the reference, for a firm that qualified inside the window
    record = explain.firm_of(frames.enterprises, frames.employees, firm)
    assert explain.explain(document, record, inside).qualifies
    assert evaluation.evaluate(document, record, inside).qualifies
    why = explain.explain(document, record, outside)
    assert (why.qualifies, why.amount, why.error) == (False, None, None)
    assert why.clauses, "the clauses are still shown"
    assert why.not_in_force is not None
    assert words[0] in why.not_in_force.text("zh")
    assert f"policy not in force on {outside} {words[1]}" == why.not_in_force.text("en")
    assert not evaluation.evaluate(document, record, outside).qualifies

    code, output = qinqing("explain", firm, policy_id, "--as-of", outside.isoformat())
    assert code == 0, output
    assert "does not qualify" in output
    assert f"policy not in force on {outside} {words[1]}" in output
    assert "granted nothing" in output


def test_the_window_is_inclusive_at_both_ends(
    app_env: Engine, data_dir: Path, frames: registry_service.RegistryFrames
) -> None:
    document = example("hz-2020-sme-rent-relief")  # 2020-02-10 .. 2020-06-30
    publish(app_env, document)
    counts = {}
    for day in (
        dt.date(2020, 2, 9),
        dt.date(2020, 2, 10),
        dt.date(2020, 6, 30),
        dt.date(2020, 7, 1),
    ):
        with db.session_scope(app_env) as session:
            (run,) = service.run_match(session, data_dir, as_of=day)
            counts[day] = run.qualified
    assert counts[dt.date(2020, 2, 9)] == counts[dt.date(2020, 7, 1)] == 0
    assert counts[dt.date(2020, 2, 10)] > 0
    assert counts[dt.date(2020, 6, 30)] > 0


def test_a_match_command_names_the_policies_not_in_force(
    app_env: Engine, frames: registry_service.RegistryFrames
) -> None:
    publish(app_env, example("hz-2020-spring-festival-stay"))
    publish(app_env, example("hz-2020-ui-refund"))
    code, output = qinqing("match", "--as-of", "2020-06-30")
    assert code == 0, output
    assert (
        "hz-2020-spring-festival-stay v1: policy not in force on 2020-06-30 (expired): "
        "valid 2020-02-10 … 2020-05-31; no firm qualifies"
    ) in output
    assert "hz-2020-ui-refund v1: policy not in force" not in output
    assert stored(app_env, "hz-2020-spring-festival-stay") == 0
    assert stored(app_env, "hz-2020-ui-refund") > 0


def test_outside_the_window_the_matcher_and_the_reference_agree_on_every_firm(
    frames: registry_service.RegistryFrames,
) -> None:
    """`outcome_on` (the match, the preview) and `evaluation.evaluate` (the redemption's re-check,
    the reference) give the same nothing on every firm of the registry."""
    document = example("hz-2020-spring-festival-stay")
    day = dt.date(2020, 6, 30)
    compiled = service.compile_document(document, day)
    firms = prepare(frames.enterprises, frames.employees, [compiled])
    outcome = service.outcome_on(firms, compiled, document, day)
    assert outcome.filter(pl.col("qualifies") | pl.col("error")).is_empty()
    for uscc in frames.enterprises["uscc"].head(40):
        record = explain.firm_of(frames.enterprises, frames.employees, uscc)
        assert evaluation.evaluate(document, record, day).qualifies is False
