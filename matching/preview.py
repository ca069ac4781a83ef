"""Impact preview: what a policy (published or not) would give on the current registry.

Officers see reach and cost before publishing: firms that qualify, the total against the budget,
by district and industry section, how many firms each eligibility clause stops, evaluation
errors, and, when a version is already published, how many firms gain, lose or change amount.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl
from sqlmodel import Session

from matching.compiler import CompiledPolicy, compile_policy, evaluate, prepare
from matching.service import compile_document, outcome_on, published_policies
from policies import evaluation
from policies.checking import parameters_of
from policies.clauses import split_clauses
from policies.document import PolicyDocument
from policies.explain import firm_of
from policies.validity import OutOfForce, out_of_force
from subsidy.registry.catalog import Catalog
from subsidy.registry.service import RegistryFrames, current_frames


@dataclass(frozen=True)
class Changes:
    """Against the published version, both evaluated on the same current registry."""

    version: int
    gained: int
    lost: int
    changed_amount: int


@dataclass(frozen=True)
class Preview:
    policy_id: str
    as_of: dt.date
    firms: int
    qualified: int
    total: Decimal
    budget: Decimal
    errors: int
    error_examples: list[tuple[str, str]]
    """Up to `ERROR_EXAMPLES` firms the rules raise on, with what the reference says they raise."""
    by_district: pl.DataFrame
    by_section: pl.DataFrame
    clause_stops: list[tuple[str, int]]
    changes: Changes | None
    per_firm: pl.DataFrame
    """One row per firm of the registry: uscc, eligible, amount (null unless eligible)."""
    not_in_force: OutOfForce | None = None
    """Set when `as_of` is outside the policy's validity window: then nobody qualifies (the
    clause counts still say what each clause stops)."""


def preview(session: Session, data_dir: Path, document: PolicyDocument, as_of: dt.date) -> Preview:
    frames = current_frames(session, data_dir)
    catalog = frames.catalog
    compiled = compile_document(document, as_of, catalog)
    clauses = _clause_policies(document, as_of, catalog)
    published = next((p for p in published_policies(session) if p.policy_id == document.id), None)
    old = compile_document(published.document, as_of, catalog) if published else None
    everything = [compiled, *clauses.values(), *([old] if old else [])]
    firms = prepare(frames.enterprises, frames.employees, everything)
    outcome = outcome_on(firms, compiled, document, as_of)
    qualified = outcome.filter(pl.col("qualifies"))
    with_firm = qualified.join(frames.enterprises.select("uscc", "district", "industry"), on="uscc")
    return Preview(
        policy_id=document.id,
        as_of=as_of,
        firms=outcome.height,
        qualified=qualified.height,
        total=_total(qualified),
        budget=document.budget,
        errors=int(outcome["error"].sum()),
        error_examples=_error_examples(document, frames, outcome, as_of),
        by_district=_breakdown(with_firm, pl.col("district")),
        by_section=_breakdown(with_firm, pl.col("industry").str.slice(0, 1).alias("section")),
        clause_stops=[
            (text, int((~evaluate(firms, policy)["qualifies"]).sum()))
            for text, policy in clauses.items()
        ],
        changes=_changes(
            outcome, outcome_on(firms, old, published.document, as_of), published.version
        )
        if old and published
        else None,
        per_firm=outcome.select("uscc", pl.col("qualifies").alias("eligible"), "amount"),
        not_in_force=out_of_force(document, as_of),
    )


ERROR_EXAMPLES = 5


def _error_examples(
    document: PolicyDocument, frames: RegistryFrames, outcome: pl.DataFrame, as_of: dt.date
) -> list[tuple[str, str]]:
    """The message of each of the first few erring firms, from the reference evaluator (the
    compiled matcher says where a rule raises; rule-engine says what it raises)."""
    failing = outcome.filter(pl.col("error")).sort("uscc").head(ERROR_EXAMPLES)["uscc"]
    examples = []
    for uscc in failing:
        record = firm_of(frames.enterprises, frames.employees, uscc, frames.catalog)
        error = evaluation.evaluate(document, record, as_of, frames.catalog).error
        examples.append((uscc, error or "error"))
    return examples


def _clause_policies(
    document: PolicyDocument, as_of: dt.date, catalog: Catalog
) -> dict[str, CompiledPolicy]:
    """Each clause as a policy of its own that gives 1 yuan wherever the clause holds."""
    parameters = parameters_of(document)
    return {
        clause.text: compile_policy(clause.text, "1", None, parameters, as_of, catalog)
        for clause in split_clauses(document.eligibility)
    }


def _total(qualified: pl.DataFrame) -> Decimal:
    total = qualified["amount"].sum()
    return Decimal(total) if total is not None else Decimal("0.00")


def _breakdown(qualified: pl.DataFrame, key: pl.Expr) -> pl.DataFrame:
    return (
        qualified.group_by(key)
        .agg(pl.len().alias("firms"), pl.col("amount").sum().alias("amount"))
        .sort("amount", descending=True)
    )


def _changes(new: pl.DataFrame, old: pl.DataFrame, version: int) -> Changes:
    both = new.select("uscc", "qualifies", "amount").join(
        old.select("uscc", "qualifies", "amount"), on="uscc", suffix="_old"
    )
    gained = both.filter(pl.col("qualifies") & ~pl.col("qualifies_old")).height
    lost = both.filter(~pl.col("qualifies") & pl.col("qualifies_old")).height
    changed = both.filter(
        pl.col("qualifies") & pl.col("qualifies_old") & (pl.col("amount") != pl.col("amount_old"))
    ).height
    return Changes(version, gained, lost, changed)
