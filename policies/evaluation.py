"""One policy for one firm, evaluated by the reference within the deadline.

`language.evaluate_firm` is the contract; here it runs in an evaluator process
(`subsidy.deadline`), so a rule that runs too long (a regex that backtracks, say one published
before validation refused such patterns) costs its caller the deadline and an error for that
policy, never the server. The rules are parsed once per evaluator and kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

import rule_engine

from policies.checking import parameters_of
from policies.document import PolicyDocument
from policies.language import Outcome, ParameterValue, context, evaluate_firm
from policies.validity import in_force
from subsidy import deadline
from subsidy.registry.catalog import BUILTIN, Catalog

Parameters = tuple[tuple[str, ParameterValue], ...]


def warm_up() -> None:
    """Build rule-engine's parser in a new evaluator before its first call (it takes a while)."""
    rule_engine.Rule("true", context=context())


deadline.prepare_with(warm_up)


def deadline_error(policy_id: str, exc: deadline.DeadlineExceeded) -> str:
    """What a firm reads when a policy's rules outlived the deadline (or could not start)."""
    if isinstance(exc, deadline.EvaluatorsBusy):
        return f"policy {policy_id} could not be evaluated now: {exc}; try again later"
    return (
        f"policy {policy_id} could not be evaluated: its rules ran longer than "
        f"{exc.seconds:g} s, the limit (QINQING_RULE_DEADLINE_SECONDS); an officer must "
        "simplify them"
    )


def evaluate(
    document: PolicyDocument,
    record: Mapping[str, Any],
    as_of: dt.date,
    catalog: Catalog = BUILTIN,
) -> Outcome:
    """What the policy gives the firm on `as_of` (its record built under `catalog`, the
    declaration in force): nothing outside its validity window (`policies.validity`), an error
    outcome when it outlives the deadline."""
    if not in_force(document, as_of):
        return Outcome(False)
    parameters = tuple(sorted(parameters_of(document).items()))
    try:
        return deadline.run(
            _evaluate_here,
            document.eligibility,
            document.amount,
            document.cap,
            parameters,
            as_of,
            dict(record),
            catalog,
        )
    except deadline.DeadlineExceeded as exc:
        return Outcome(False, error=deadline_error(document.id, exc), timed_out=True)


@lru_cache(maxsize=256)
def _rules(
    eligibility: str, amount: str, parameters: Parameters, as_of: dt.date, catalog: Catalog
) -> tuple[rule_engine.Rule, rule_engine.Rule]:
    ctx = context(dict(parameters), as_of, catalog)
    return rule_engine.Rule(eligibility, context=ctx), rule_engine.Rule(amount, context=ctx)


def _evaluate_here(
    eligibility: str,
    amount: str,
    cap: Decimal | None,
    parameters: Parameters,
    as_of: dt.date,
    record: Mapping[str, Any],
    catalog: Catalog = BUILTIN,
) -> Outcome:
    """In the evaluator process."""
    rules = _rules(eligibility, amount, parameters, as_of, catalog)
    return evaluate_firm(*rules, cap, record)
