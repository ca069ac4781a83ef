"""Why one firm does or does not qualify: each clause with its value and what it read.

The explanation uses the reference evaluator (rule-engine on the firm's record), which is the
contract the compiled matcher follows, so what it says is what the matcher did. Outside the
policy's validity window nobody qualifies (`policies.validity`): the clauses are still shown,
and `not_in_force` says why the outcome is nothing. What each clause read is a `Reading`
(`policies.readings`): `$today` the as-of date, money in yuan, numbers as the document has them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache
from typing import Any

import polars as pl
import rule_engine
from sqlmodel import Session

from policies.checking import parameters_of
from policies.clauses import Clause, split_clauses
from policies.document import ClauseLabel, PolicyDocument
from policies.evaluation import deadline_error
from policies.language import (
    RULE_ERRORS,
    ParameterValue,
    context,
    evaluate_firm,
    firm_record,
    round_amount,
    rule_error,
)
from policies.readings import Reading, readings
from policies.validity import OutOfForce, out_of_force
from subsidy import deadline
from subsidy.registry import service as registry_service
from subsidy.registry.catalog import BUILTIN, Catalog
from subsidy.registry.errors import RegistryError


@dataclass(frozen=True)
class ClauseResult:
    text: str
    value: Any
    """True, False, or None when the clause could not be evaluated (see `error`)."""
    error: str | None
    reads: dict[str, Reading]
    """Each symbol the clause read (a personal column as `name != null`), with its value."""
    label: ClauseLabel | None = None
    """What the clause means in plain words, when the document labels its clauses."""


@dataclass(frozen=True)
class Explanation:
    uscc: str
    policy_id: str
    as_of: dt.date
    clauses: list[ClauseResult]
    amount_before_cap: Decimal | None
    cap: Decimal | None
    qualifies: bool
    amount: Decimal | None
    error: str | None
    not_in_force: OutOfForce | None = None
    """Set when `as_of` is outside the policy's validity window: the firm gets nothing."""


def firm_of(
    enterprises: pl.DataFrame, employees: pl.DataFrame, uscc: str, catalog: Catalog = BUILTIN
) -> dict[str, Any]:
    """One firm's record from frames holding every column of `catalog` (`RegistryFrames`)."""
    rows = enterprises.filter(pl.col("uscc") == uscc)
    if rows.is_empty():
        raise RegistryError(f"no firm {uscc} in the current enterprise registry")
    staff = employees.filter(pl.col("uscc") == uscc).to_dicts()
    return firm_record(rows.row(0, named=True), staff, catalog)


def registered_firm(
    session: Session, uscc: str, catalog: Catalog = BUILTIN
) -> dict[str, Any] | None:
    """One firm's record from the registry tables and the rows the declared sources of
    `catalog` hold for it and its employees (indexed look-ups), None if not registered."""
    found = registry_service.firm_data(session, uscc, catalog)
    if found is None:
        return None
    enterprise, staff = found
    return firm_record(enterprise, staff, catalog)


def warm_up() -> None:
    """Build what the first explanation would (the clause lexer, rule-engine's parser) in a new
    evaluator before its first call: it takes a second, which a deadline must not pay."""
    _rules("true", "1", (), dt.date(2020, 1, 1), BUILTIN)


deadline.prepare_with(warm_up)


def explain(
    document: PolicyDocument,
    record: Mapping[str, Any],
    as_of: dt.date,
    catalog: Catalog = BUILTIN,
) -> Explanation:
    """Why the firm does or does not qualify (its record built under `catalog`), evaluated
    within the deadline (`subsidy.deadline`): past it, the outcome and the eligibility as one
    clause carry the error naming the policy and the limit. Outside the validity window the firm
    does not qualify, whatever the clauses say."""
    try:
        found = deadline.run(_explain_here, document, dict(record), as_of, catalog)
    except deadline.DeadlineExceeded as exc:
        message = deadline_error(document.id, exc)
    else:
        return _in_force_only(found, document)
    clauses = [ClauseResult(document.eligibility, None, message, {})]
    return Explanation(
        uscc=str(record["uscc"]),
        policy_id=document.id,
        as_of=as_of,
        clauses=clauses,
        amount_before_cap=None,
        cap=document.cap,
        qualifies=False,
        amount=None,
        error=message,
        not_in_force=out_of_force(document, as_of),
    )


def _in_force_only(found: Explanation, document: PolicyDocument) -> Explanation:
    why = out_of_force(document, found.as_of)
    if why is None:
        return found
    return replace(found, qualifies=False, amount=None, not_in_force=why)


def _explain_here(
    document: PolicyDocument,
    record: Mapping[str, Any],
    as_of: dt.date,
    catalog: Catalog = BUILTIN,
) -> Explanation:
    """In the evaluator process (which keeps the parsed rules)."""
    parameters = parameters_of(document)
    clauses, eligibility, amount_rule = _rules(
        document.eligibility, document.amount, tuple(sorted(parameters.items())), as_of, catalog
    )
    outcome = evaluate_firm(eligibility, amount_rule, document.cap, record)
    return Explanation(
        uscc=str(record["uscc"]),
        policy_id=document.id,
        as_of=as_of,
        clauses=[
            replace(
                _clause(clause, rule, record, parameters, as_of, catalog),
                label=document.clause_label(i),
            )
            for i, (clause, rule) in enumerate(clauses)
        ],
        amount_before_cap=_raw_amount(amount_rule, record),
        cap=document.cap,
        qualifies=outcome.qualifies,
        amount=outcome.amount,
        error=outcome.error,
    )


@lru_cache(maxsize=256)
def _rules(
    eligibility: str,
    amount: str,
    parameters: tuple[tuple[str, ParameterValue], ...],
    as_of: dt.date,
    catalog: Catalog,
) -> tuple[list[tuple[Clause, rule_engine.Rule]], rule_engine.Rule, rule_engine.Rule]:
    """Each clause with its rule, then the eligibility and the amount, parsed once."""
    ctx = context(dict(parameters), as_of, catalog)
    clauses = [(c, rule_engine.Rule(c.text, context=ctx)) for c in split_clauses(eligibility)]
    return (
        clauses,
        rule_engine.Rule(eligibility, context=ctx),
        rule_engine.Rule(amount, context=ctx),
    )


def _clause(
    clause: Clause,
    rule: rule_engine.Rule,
    record: Mapping[str, Any],
    parameters: Mapping[str, ParameterValue],
    as_of: dt.date,
    catalog: Catalog = BUILTIN,
) -> ClauseResult:
    reads = readings(clause.symbols, record, parameters, as_of, catalog)
    try:
        value = rule.evaluate(record)
    except RULE_ERRORS as exc:
        return ClauseResult(clause.text, None, rule_error(None, exc), reads)
    return ClauseResult(clause.text, value, None, reads)


def _raw_amount(amount: rule_engine.Rule, record: Mapping[str, Any]) -> Decimal | None:
    try:
        value = amount.evaluate(record)
        return round_amount(value, None) if isinstance(value, Decimal) else None
    except RULE_ERRORS:  # the outcome carries the error
        return None
