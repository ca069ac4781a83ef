"""Finding: one policy whose regex polars could not compile made every `qinqing match` fail with
a traceback and store nothing, for any policy. Now a policy that fails (any exception while
compiling or evaluating it) gets a run recording why, keeps its previous qualifications, and the
other policies are matched and stored; `qinqing match` names it and exits non-zero."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from matching import service as matching_service
from matching.models import MatchRun, Qualification
from policies import service as policy_service
from policies.document import load_path
from subsidy import db
from tests.commands import qinqing, wide_terminal  # noqa: F401 (an autouse fixture)
from tests.security._policies import EXAMPLES, published_unchecked, unchecked

GOOD = ("hz-2020-ui-refund", "hz-2020-new-hire-subsidy")
BAD = "hz-2020-digital-tech-award"


@pytest.fixture
def published(app_env: Engine, tmp_path: Path) -> Engine:
    out = tmp_path / "registry"
    assert qinqing("demo-data", "--firms", "200", "--out", out)[0] == 0
    assert (
        qinqing("import", "registry", out / "enterprises.parquet", out / "employees.parquet")[0]
        == 0
    )
    for policy_id in (*GOOD, BAD):
        document = load_path(EXAMPLES / f"{policy_id}.yaml")
        approved = policy_service.approve(document, policy_id, [matching_service.compile_issues])
        with db.session_scope(app_env) as session:
            policy_service.publish(session, approved, by="officer")
    return app_env


def _qualified(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.execute(
            select(col(Qualification.policy_id), func.count()).group_by(
                col(Qualification.policy_id)
            )
        )
        return {str(p): int(n) for p, n in rows}


def _last_runs(engine: Engine) -> dict[str, MatchRun]:
    with Session(engine) as session:
        runs = session.execute(select(MatchRun).order_by(col(MatchRun.id))).scalars().all()
        return {run.policy_id: run for run in runs}


def _first_match(published: Engine) -> tuple[str, dict[str, int]]:
    code, output = qinqing("match", "--as-of", "2020-06-30")
    before = _qualified(published)
    assert code == 0, output
    return output, before


def test_an_uncompilable_regex_fails_its_policy_alone(published: Engine) -> None:
    _, before = _first_match(published)
    assert set(before) >= set(GOOD)
    published_unchecked(published, unchecked(BAD, "name =~ '(a{1000}){1000}'"))

    code, output = qinqing("match", "--as-of", "2020-06-30")
    assert code == 1
    assert f"policy {BAD} v2 failed" in " ".join(output.split())
    assert "compiles too large" in output
    after = _qualified(published)
    assert after == before  # the others are stored anew; the failed one keeps its last
    runs = _last_runs(published)
    assert "compiles too large" in (runs[BAD].failure or "")
    assert runs[BAD].policy_version == 2
    assert all(runs[p].failure is None for p in GOOD)


def test_any_exception_compiling_or_evaluating_one_policy_is_that_policys_failure(
    published: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    compile_document = matching_service.compile_document
    evaluate = matching_service.evaluate  # type: ignore[attr-defined]

    def compiling(document: Any, as_of: Any, *catalog: Any) -> Any:
        if document.id == GOOD[0]:
            raise RuntimeError("a bug in the compiler")
        return compile_document(document, as_of, *catalog)

    def evaluating(firms: pl.DataFrame, policy: Any) -> pl.DataFrame:
        if policy is compiled_bad[0]:
            raise pl.exceptions.ComputeError("regex error: a polars failure")
        return evaluate(firms, policy)

    compiled_bad: list[Any] = []

    def remembering(document: Any, as_of: Any, *catalog: Any) -> Any:
        policy = compiling(document, as_of, *catalog)
        if document.id == BAD:
            compiled_bad.append(policy)
        return policy

    monkeypatch.setattr(matching_service, "compile_document", remembering)
    monkeypatch.setattr(matching_service, "evaluate", evaluating)
    code, output = qinqing("match", "--as-of", "2020-06-30")
    assert code == 1
    flat = " ".join(output.split())
    assert f"policy {GOOD[0]} v1 failed" in flat
    assert "RuntimeError: a bug in the compiler" in flat
    assert f"policy {BAD} v1 failed" in flat
    assert "ComputeError" in flat
    assert set(_qualified(published)) == {GOOD[1]}
    runs = _last_runs(published)
    assert runs[GOOD[1]].failure is None
    assert runs[GOOD[1]].qualified > 0
