"""The rule language over one firm: types, values and the reference semantics.

Rules are rule-engine expressions. A firm is seen as a record: every enterprise column of the
registry contract as a symbol (dates as UTC datetimes at midnight, money as Decimal, text as str,
flags as bool, nullable columns as None), plus `employees`, a tuple of that firm's employee
records with their own typed attributes. `$today` and `$now` are the run's as-of date, never the
wall clock. Parameters of a policy are symbols too.

This module is the *reference*: `evaluate_firm` says what a policy gives one firm. The compiled
matcher (matching/) must agree with it on every firm; the differential tests hold them together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from types import SimpleNamespace
from typing import Any

import rule_engine
from rule_engine import DataType
from rule_engine.builtins import Builtins, BuiltinValueGenerator
from rule_engine.engine.context import _tls_getter

from subsidy.money import FEN
from subsidy.registry.schema import EMPLOYEES, ENTERPRISES, Kind, Table

ParameterValue = Decimal | str | bool | dt.date
"""What a policy parameter may hold: a number (always Decimal), text, a flag or a date."""

RULE_ERRORS: tuple[type[Exception], ...] = (
    rule_engine.EngineError,
    ArithmeticError,
    TypeError,
    ValueError,
)
"""What evaluating a rule on one firm may raise: rule-engine's own errors, and the Python errors
it lets through (a date past 9999-12-31 is an OverflowError, `'x' in null` a TypeError). Any of
them means the rule raised for that firm; both engines treat them alike."""

_KIND_TYPES = {
    Kind.USCC: DataType.STRING,
    Kind.TEXT: DataType.STRING,
    Kind.CHOICE: DataType.STRING,
    Kind.INDUSTRY: DataType.STRING,
    Kind.DATE: DataType.DATETIME,
    Kind.BOOL: DataType.BOOLEAN,
    Kind.MONEY: DataType.FLOAT,
}


def _column_types(table: Table, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {c.name: _KIND_TYPES[c.kind] for c in table.columns if c.name not in skip}


EMPLOYEE_TYPE = DataType.OBJECT("employee", attributes=_column_types(EMPLOYEES, skip=("uscc",)))
"""An employee record inside a rule: `e.insured`, `e.hire_date`, `e.monthly_wage`, ..."""

FIRM_TYPES: dict[str, Any] = _column_types(ENTERPRISES) | {
    "employees": DataType.ARRAY(EMPLOYEE_TYPE)
}
"""The symbols every rule may use, with their rule-engine types."""


def parameter_type(value: ParameterValue) -> Any:
    if isinstance(value, bool):
        return DataType.BOOLEAN
    if isinstance(value, Decimal):
        return DataType.FLOAT
    if isinstance(value, dt.date):
        return DataType.DATETIME
    return DataType.STRING


def context(
    parameters: Mapping[str, ParameterValue] | None = None, as_of: dt.date | None = None
) -> rule_engine.Context:
    """A typed context: the registry's symbols, the policy's parameters, `$today` = `as_of`.

    Parameters are resolved before the firm's symbols, so a rule reads them by name; they are
    typed like the firm's columns, so a rule using them is type-checked as well.
    """
    parameters = dict(parameters or {})
    types = FIRM_TYPES | {name: parameter_type(v) for name, v in parameters.items()}
    values = {name: rule_value(v) for name, v in parameters.items()}

    def resolve(thing: Any, name: str) -> Any:
        if name in values:
            return values[name]
        return rule_engine.resolve_item(thing, name)

    ctx = rule_engine.Context(
        resolver=resolve,
        type_resolver=rule_engine.type_resolver_from_dict(types),
        default_timezone="UTC",
    )
    midnight = _midnight(as_of or dt.datetime.now(dt.UTC).date())
    # rule-engine reads $today and $now from the clock; a run reads them from its as-of date.
    # `re_groups` is rebuilt as rule-engine's own Context builds it (there is no public setter).
    re_groups = BuiltinValueGenerator(partial(_tls_getter, ctx._thread_local, "regex_groups"))
    ctx.builtins = Builtins.from_defaults(
        values={"today": midnight, "now": midnight, "re_groups": re_groups},
        value_types={"re_groups": DataType.ARRAY(DataType.STRING)},
        timezone=dt.UTC,
    )
    return ctx


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def rule_value(value: Any) -> Any:
    """A registry or parameter value as rule-engine sees it."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return _midnight(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return value


def firm_record(
    enterprise: Mapping[str, Any], employees: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """One firm as the reference evaluator reads it (values from the registry's polars frames)."""
    record = {name: rule_value(enterprise.get(name)) for name in ENTERPRISES.names}
    record["employees"] = tuple(
        SimpleNamespace(**{n: rule_value(e.get(n)) for n in EMPLOYEES.names if n != "uscc"})
        for e in employees
    )
    return record


@dataclass(frozen=True)
class Outcome:
    """What a policy gives one firm. `amount` is set only when the firm qualifies."""

    qualifies: bool
    amount: Decimal | None = None
    error: str | None = None
    timed_out: bool = False
    """The rules outlived the deadline (policies/evaluation.py); `error` says so."""


def round_amount(value: Decimal, cap: Decimal | None) -> Decimal:
    """Half-up to the fen, then limited by the per-firm cap."""
    amount = value.quantize(FEN, rounding=ROUND_HALF_UP)
    return min(amount, cap) if cap is not None else amount


def evaluate_firm(
    eligibility: rule_engine.Rule,
    amount: rule_engine.Rule,
    cap: Decimal | None,
    record: Mapping[str, Any],
) -> Outcome:
    """The contract every engine follows: the firm qualifies when the eligibility is true and the
    amount, rounded half-up to the fen and limited by `cap`, is above zero. A firm on which the
    rule raises does not qualify and carries the error."""
    try:
        granted = eligibility.evaluate(record)
    except RULE_ERRORS as exc:
        return Outcome(False, error=rule_error("eligibility", exc))
    if granted is not True:
        return Outcome(False)
    try:
        value = amount.evaluate(record)
    except RULE_ERRORS as exc:
        return Outcome(False, error=rule_error("amount", exc))
    if not isinstance(value, Decimal):
        return Outcome(False, error=f"amount is {type(value).__name__}, not a number")
    try:
        final = round_amount(value, cap)
    except ArithmeticError:  # beyond 28 significant digits, e.g. `revenue ** 9`
        return Outcome(False, error=f"amount {value:E} is out of range for yuan and fen")
    return Outcome(True, final) if final > 0 else Outcome(False)


def rule_error(rule: str | None, exc: Exception) -> str:
    """What a rule raised (and in which rule, when given), as an officer reads it."""
    message = exc.message if isinstance(exc, rule_engine.EngineError) else str(exc)
    where = f"{rule}: " if rule else ""
    return f"{where}{type(exc).__name__}: {message}"
