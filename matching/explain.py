"""Why one firm does or does not qualify: each clause with its value and what it read.

The explanation uses the reference evaluator (rule-engine on the firm's record), which is the
contract the compiled matcher follows, so what it says is what the matcher did.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
import rule_engine
from sqlmodel import Session

from policies.checking import parameters_of
from policies.clauses import split_clauses
from policies.document import PolicyDocument
from policies.language import (
    RULE_ERRORS,
    ParameterValue,
    context,
    evaluate_firm,
    firm_record,
    round_amount,
    rule_error,
)
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


def explain(document: PolicyDocument, record: Mapping[str, Any], as_of: dt.date) -> Explanation:
    parameters = parameters_of(document)
    ctx = context(parameters, as_of)
    clauses = [
        _clause(c.text, ctx, record, parameters, c.symbols)
        for c in split_clauses(document.eligibility)
    ]
    eligibility = rule_engine.Rule(document.eligibility, context=ctx)
    amount_rule = rule_engine.Rule(document.amount, context=ctx)
    outcome = evaluate_firm(eligibility, amount_rule, document.cap, record)
    return Explanation(
        uscc=str(record["uscc"]),
        policy_id=document.id,
        as_of=as_of,
        clauses=clauses,
        amount_before_cap=_raw_amount(amount_rule, record),
        cap=document.cap,
        qualifies=outcome.qualifies,
        amount=outcome.amount,
        error=outcome.error,
    )


def _clause(
    text: str,
    ctx: rule_engine.Context,
    record: Mapping[str, Any],
    parameters: Mapping[str, ParameterValue],
    symbols: tuple[str, ...],
) -> ClauseResult:
    reads = {name: _shown(name, record, parameters) for name in symbols}
    try:
        value = rule_engine.Rule(text, context=ctx).evaluate(record)
    except RULE_ERRORS as exc:
        return ClauseResult(text, None, rule_error(None, exc), reads)
    return ClauseResult(text, value, None, reads)


def _shown(name: str, record: Mapping[str, Any], parameters: Mapping[str, ParameterValue]) -> Any:
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
