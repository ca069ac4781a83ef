"""Matching runs: every published policy over the current registry snapshot, in bulk.

The registry is read from its snapshots' Parquet copies (exactly the data each import accepted),
employee aggregates are computed once for all policies, and each policy's qualifications replace
its previous run's. The service flushes; the command commits.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl
from sqlalchemy import delete, func, select, text
from sqlmodel import Session, col

from matching.compiler import (
    AMOUNT_DTYPE,
    CompiledPolicy,
    check_compilable,
    compile_policy,
    evaluate,
    prepare,
)
from matching.errors import MatchingError
from matching.models import MatchRun, Qualification
from policies import service as policy_service
from policies.checking import CheckedPolicy, parameters_of
from policies.document import PolicyDocument
from policies.errors import Issue
from policies.models import PolicyState
from policies.validity import in_force
from subsidy import bulk
from subsidy.db import utcnow
from subsidy.errors import QinqingError
from subsidy.progress import NO_PROGRESS, Progress
from subsidy.registry.catalog import BUILTIN, Catalog
from subsidy.registry.schema import MONEY_DTYPE
from subsidy.registry.service import RegistryFrames, current_frames

MAX_AMOUNT = Decimal("99999999999999.99")

AfterMatch = Callable[[Session, list[MatchRun], dt.date], list[str]]
"""A step a later domain adds to a match, run in its transaction (automatic grants,
notifications); returns what to tell the person who ran the match."""


def compile_issues(checked: CheckedPolicy, source: str) -> list[Issue]:
    """The publication check the matcher adds: it must compile both rules exactly (over the
    columns of the catalog the document was checked under)."""
    document = checked.document
    parameters = parameters_of(document)
    issues = []
    for field, eligibility, amount in (
        ("eligibility", document.eligibility, "1"),
        ("amount", "true", document.amount),
    ):
        for message in check_compilable(eligibility, amount, parameters, checked.catalog):
            issues.append(
                Issue.coded(source, field, None, None, "policy.not_compilable", detail=message)
            )
    return issues


def compile_document(
    document: PolicyDocument, as_of: dt.date, catalog: Catalog = BUILTIN
) -> CompiledPolicy:
    """The document compiled over frames read under `catalog` (`RegistryFrames.catalog`)."""
    parameters = parameters_of(document)
    return compile_policy(
        document.eligibility, document.amount, document.cap, parameters, as_of, catalog
    )


@dataclass(frozen=True)
class Published:
    policy_id: str
    version: int
    document: PolicyDocument


def published_policies(session: Session) -> list[Published]:
    found = []
    for policy in policy_service.policies(session):
        if policy.state != PolicyState.PUBLISHED:
            continue
        _, versions = policy_service.history(session, policy.id)
        latest = versions[-1]
        found.append(
            Published(policy.id, latest.version, policy_service.published_document(latest))
        )
    return found


def run_match(
    session: Session, data_dir: Path, *, as_of: dt.date, progress: Progress = NO_PROGRESS
) -> list[MatchRun]:
    """Match every published policy; returns one run per policy.

    A policy that fails (any exception while compiling or evaluating it) gets a run that says
    why (`MatchRun.failure`) and keeps its previous qualifications; the others are stored. A
    policy not in force on `as_of` (`policies.validity`) is not evaluated: its run qualifies
    nobody, and its previous qualifications give way to none."""
    progress.stage("reading the registry snapshot")
    frames = current_frames(session, data_dir)
    policies = published_policies(session)
    progress.stage(f"compiling {len(policies)} policies")
    compiled: dict[int, CompiledPolicy] = {}
    failures: dict[int, str] = {}
    idle = {i for i, p in enumerate(policies) if not in_force(p.document, as_of)}
    for index, published in enumerate(policies):
        if index in idle:
            continue
        try:
            compiled[index] = compile_document(published.document, as_of, frames.catalog)
        except Exception as exc:  # one policy's problem is that policy's failure
            failures[index] = failure_reason(exc)
    progress.stage("aggregating employees")
    firms = _prepared(frames, compiled, failures)
    progress.stage("matching", total=len(policies))
    runs, found, matched = [], [], []
    for index, published in enumerate(policies):
        run: MatchRun | None = None
        if index not in failures:
            try:
                outcome = nobody(firms) if index in idle else evaluate(firms, compiled[index])
                run, rows = _run(session, frames, published, outcome, as_of)
            except Exception as exc:
                failures[index] = failure_reason(exc)
            else:
                found.append(rows)
                matched.append(published.policy_id)
        runs.append(run or _failed(session, frames, published, as_of, failures[index]))
        progress.advance(1)
    _replace_qualifications(session, matched, found, progress)
    finished = utcnow()
    for run in runs:
        run.finished_at = finished
    session.flush()
    return runs


def outcome_on(
    firms: pl.DataFrame, policy: CompiledPolicy, document: PolicyDocument, as_of: dt.date
) -> pl.DataFrame:
    """The compiled policy's outcome on `as_of`: nobody qualifies outside its validity window."""
    return evaluate(firms, policy) if in_force(document, as_of) else nobody(firms)


def nobody(firms: pl.DataFrame) -> pl.DataFrame:
    """An outcome (as `compiler.evaluate` gives) in which no firm qualifies and none errs."""
    return firms.select(
        pl.col("uscc"),
        pl.lit(False).alias("qualifies"),
        pl.lit(None, dtype=AMOUNT_DTYPE).alias("amount"),
        pl.lit(False).alias("error"),
    )


def failure_reason(exc: Exception) -> str:
    """An exception as a failed run records it: a deliberate refusal's own message, otherwise
    its type too (a polars error, a bug)."""
    reason = str(exc) if isinstance(exc, QinqingError) else f"{type(exc).__name__}: {exc}"
    return reason[:_REASON_CHARS]


_REASON_CHARS = 2_000


def _prepared(
    frames: RegistryFrames, compiled: dict[int, CompiledPolicy], failures: dict[int, str]
) -> pl.DataFrame:
    """The firm frame for every compiled policy, their aggregates and regions shared; when that
    fails, each policy is prepared alone to find which fail, and those are left out."""
    enterprises, employees = frames.enterprises, frames.employees
    try:
        return prepare(enterprises, employees, list(compiled.values()))
    except Exception:
        for index, policy in list(compiled.items()):
            try:
                prepare(enterprises, employees, [policy])
            except Exception as exc:
                failures[index] = failure_reason(exc)
                del compiled[index]
    try:
        return prepare(enterprises, employees, list(compiled.values()))
    except Exception as exc:  # they fail only together: none of them is matched
        for index in list(compiled):
            failures[index] = failure_reason(exc)
        compiled.clear()
        return prepare(enterprises, employees, [])


def _failed(
    session: Session, frames: RegistryFrames, published: Published, as_of: dt.date, reason: str
) -> MatchRun:
    run = MatchRun(
        policy_id=published.policy_id,
        policy_version=published.version,
        enterprise_snapshot_id=_id(frames.enterprise_snapshot.id),
        employee_snapshot_id=_id(frames.employee_snapshot.id),
        source_snapshots=source_snapshots(frames),
        as_of=as_of,
        firms=frames.enterprises.height,
        qualified=0,
        total_amount=Decimal("0.00"),
        evaluation_errors=0,
        failure=reason,
    )
    session.add(run)
    session.flush()
    return run


def _run(
    session: Session,
    frames: RegistryFrames,
    published: Published,
    outcome: pl.DataFrame,
    as_of: dt.date,
) -> tuple[MatchRun, pl.DataFrame]:
    """The policy's run record and its qualification rows (not yet stored)."""
    qualified = outcome.filter(pl.col("qualifies"))
    _refuse_unstorable(published, qualified)
    total = qualified["amount"].sum()
    errors = int(outcome["error"].sum())
    run = MatchRun(
        policy_id=published.policy_id,
        policy_version=published.version,
        enterprise_snapshot_id=_id(frames.enterprise_snapshot.id),
        employee_snapshot_id=_id(frames.employee_snapshot.id),
        source_snapshots=source_snapshots(frames),
        as_of=as_of,
        firms=outcome.height,
        qualified=qualified.height,
        total_amount=Decimal(total) if total is not None else Decimal("0.00"),
        evaluation_errors=errors,
    )
    rows = qualified.select(
        pl.lit(published.policy_id).alias("policy_id"),
        "uscc",
        pl.lit(0).alias("run_id"),
        pl.col("amount").cast(MONEY_DTYPE),
    )
    session.add(run)
    session.flush()
    return run, rows.with_columns(pl.lit(run.id).alias("run_id"))


def _refuse_unstorable(published: Published, qualified: pl.DataFrame) -> None:
    """An amount money cannot hold (NUMERIC(16,2)) stops the run, naming policy and firm."""
    too_big = qualified.filter(pl.col("amount") > MAX_AMOUNT)
    if not too_big.is_empty():
        uscc, amount = too_big.row(0)[0], too_big["amount"][0]
        raise MatchingError(
            f"policy {published.policy_id} v{published.version} gives {uscc} {amount} yuan, "
            f"more than an amount can hold ({MAX_AMOUNT}); {too_big.height} firms in all: "
            "set a cap"
        )


def _replace_qualifications(
    session: Session, policy_ids: list[str], found: list[pl.DataFrame], progress: Progress
) -> None:
    """Each matched policy's previous qualifications give way to this run's, in one load."""
    connection = session.connection()
    table = Qualification.__table__  # type: ignore[attr-defined]
    rows = pl.concat(found) if found else None
    progress.stage("storing qualifications", total=rows.height if rows is not None else 0)
    others = session.execute(
        select(func.count())
        .select_from(Qualification)
        .where(col(Qualification.policy_id).not_in(policy_ids))
    ).scalar_one()
    if others:
        session.execute(delete(Qualification).where(col(Qualification.policy_id).in_(policy_ids)))
    elif connection.dialect.name == "postgresql":
        connection.execute(text(f"TRUNCATE {table.name}"))  # far faster than deleting every row
    else:
        session.execute(delete(Qualification))
    if rows is None or rows.is_empty():
        return
    with bulk.indexes_rebuilt_after(connection, table, progress):
        bulk.insert_frame(connection, table, rows, progress)


def source_snapshots(frames: RegistryFrames) -> str | None:
    """`MatchRun.source_snapshots`: the snapshot of every declared source the frames joined,
    as JSON {source: snapshot id} (with the enterprise and employee snapshots, all a run read);
    None when they joined none."""
    if not frames.source_snapshots:
        return None
    ids = {name: _id(s.id) for name, s in sorted(frames.source_snapshots.items())}
    return json.dumps(ids, sort_keys=True)


def _id(value: int | None) -> int:
    assert value is not None, "a stored snapshot has an id"
    return value
