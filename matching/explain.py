"""Why one firm does or does not qualify: each clause with its value and what it read.

The explanation uses the reference evaluator (rule-engine on the firm's record), which is the
contract the compiled matcher follows, so what it says is what the matcher did.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

import polars as pl
import rule_engine
from sqlmodel import Session

from policies.checking import parameters_of
from policies.clauses import Clause, split_clauses
from policies.document import PolicyDocument
from policies.evaluation import deadline_error
from policies.guards import PERSONAL_SYMBOLS
from policies.language import (
    RULE_ERRORS,
    ParameterValue,
    context,
    evaluate_firm,
    firm_record,
    round_amount,
    rule_error,
)
from subsidy import deadline
from subsidy.registry import repository as registry_repository
from subsidy.registry.errors import RegistryError


@dataclass(frozen=True)
class ClauseResult:
    text: str
    value: Any
    """True, False, or None when the clause could not be evaluated (see `error`)."""
    error: str | None
    reads: dict[str, Any]


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


def firm_of(enterprises: pl.DataFrame, employees: pl.DataFrame, uscc: str) -> dict[str, Any]:
    rows = enterprises.filter(pl.col("uscc") == uscc)
    if rows.is_empty():
        raise RegistryError(f"no firm {uscc} in the current enterprise registry")
    staff = employees.filter(pl.col("uscc") == uscc).to_dicts()
    return firm_record(rows.row(0, named=True), staff)


def registered_firm(session: Session, uscc: str) -> dict[str, Any] | None:
    """One firm's record from the registry tables (indexed look-ups), None if not registered."""
    found = registry_repository.firm(session, uscc)
    if found is None:
        return None
    enterprise, staff = found
    return firm_record(enterprise.model_dump(), [e.model_dump() for e in staff])


def warm_up() -> None:
    """Build what the first explanation would (the clause lexer, rule-engine's parser) in a new
    evaluator before its first call: it takes a second, which a deadline must not pay."""
    _rules("true", "1", (), dt.date(2020, 1, 1))


deadline.prepare_with(warm_up)


def explain(document: PolicyDocument, record: Mapping[str, Any], as_of: dt.date) -> Explanation:
    """Why the firm does or does not qualify, evaluated within the deadline (`subsidy.deadline`):
    past it, the outcome and the eligibility as one clause carry the error naming the policy and
    the limit."""
    try:
        return deadline.run(_explain_here, document, dict(record), as_of)
    except deadline.DeadlineExceeded as exc:
        message = deadline_error(document.id, exc)
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
    )


def _explain_here(
    document: PolicyDocument, record: Mapping[str, Any], as_of: dt.date
) -> Explanation:
    """In the evaluator process (which keeps the parsed rules)."""
    parameters = parameters_of(document)
    clauses, eligibility, amount_rule = _rules(
        document.eligibility, document.amount, tuple(sorted(parameters.items())), as_of
    )
    outcome = evaluate_firm(eligibility, amount_rule, document.cap, record)
    return Explanation(
        uscc=str(record["uscc"]),
        policy_id=document.id,
        as_of=as_of,
        clauses=[_clause(clause, rule, record, parameters) for clause, rule in clauses],
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
) -> tuple[list[tuple[Clause, rule_engine.Rule]], rule_engine.Rule, rule_engine.Rule]:
    """Each clause with its rule, then the eligibility and the amount, parsed once."""
    ctx = context(dict(parameters), as_of)
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
) -> ClauseResult:
    reads = _reads(clause.symbols, record, parameters)
    try:
        value = rule.evaluate(record)
    except RULE_ERRORS as exc:
        return ClauseResult(clause.text, None, rule_error(None, exc), reads)
    return ClauseResult(clause.text, value, None, reads)


def _reads(
    symbols: tuple[str, ...], record: Mapping[str, Any], parameters: Mapping[str, ParameterValue]
) -> dict[str, Any]:
    """What the clause read, by name; of a personal column only whether it is present."""
    return {
        f"{name} != null" if name in PERSONAL_SYMBOLS else name: _shown(name, record, parameters)
        for name in symbols
    }


def _shown(name: str, record: Mapping[str, Any], parameters: Mapping[str, ParameterValue]) -> Any:
    if name in PERSONAL_SYMBOLS:  # never its characters (a rule may only test its presence)
        return record.get(name) is not None
    if name in parameters:
        return parameters[name]
    value = record.get(name)
    if name == "employees":
        return f"{len(value or ())} employee records"
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def _raw_amount(amount: rule_engine.Rule, record: Mapping[str, Any]) -> Decimal | None:
    try:
        value = amount.evaluate(record)
        return round_amount(value, None) if isinstance(value, Decimal) else None
    except RULE_ERRORS:  # the outcome carries the error
        return None
