"""The rule language over one firm: types, values and the reference semantics.

Rules are rule-engine expressions. A firm is seen as a record: every firm column of the catalog
in force (`subsidy.registry.catalog`: the enterprise registry, then the columns of the sources
declared by firm) as a symbol (dates as UTC datetimes at midnight, money, integers and decimals as
Decimal, text as str, flags as bool, nullable columns as None), plus `employees`, a tuple of that
firm's employee records with their own typed attributes (the employee registry's and the person
sources' columns). A firm or person a source has no row for reads None for its columns.
`$today` and `$now` are the run's as-of date, never the wall clock. Parameters of a policy are
symbols too.

This module is the *reference*: `evaluate_firm` says what a policy gives one firm. The compiled
matcher (matching/) must agree with it on every firm; the differential tests hold them together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache, partial
from types import SimpleNamespace
from typing import Any

import rule_engine
from rule_engine import DataType
from rule_engine.builtins import Builtins, BuiltinValueGenerator
from rule_engine.engine.context import _tls_getter

from subsidy.money import FEN
from subsidy.registry.catalog import BUILTIN, Catalog
from subsidy.registry.schema import Column, Kind

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
    Kind.INTEGER: DataType.FLOAT,
    Kind.DECIMAL: DataType.FLOAT,
}
"""rule-engine's type of each kind: every number is its FLOAT, which holds a Decimal exactly."""


def _column_types(columns: Sequence[Column]) -> dict[str, Any]:
    return {c.name: _KIND_TYPES[c.kind] for c in columns}


@lru_cache(maxsize=16)
def employee_type(catalog: Catalog = BUILTIN) -> Any:
    """An employee record inside a rule: `e.insured`, `e.hire_date`, `e.monthly_wage`, and the
    columns of the sources declared by person (`e.months_insured_2019`)."""
    return DataType.OBJECT("employee", attributes=_column_types(catalog.employee_columns))


@lru_cache(maxsize=16)
def firm_types(catalog: Catalog = BUILTIN) -> dict[str, Any]:
    """The symbols every rule may use under `catalog`, with their rule-engine types (callers
    must not change the dict: it is shared)."""
    return _column_types(catalog.firm_columns) | {
        "employees": DataType.ARRAY(employee_type(catalog))
    }


EMPLOYEE_TYPE = employee_type(BUILTIN)
"""The employee record before anything is declared."""

FIRM_TYPES: dict[str, Any] = firm_types(BUILTIN)
"""The symbols of the built-in registries (a declaration adds more: `firm_types`)."""


def parameter_type(value: ParameterValue) -> Any:
    if isinstance(value, bool):
        return DataType.BOOLEAN
    if isinstance(value, Decimal):
        return DataType.FLOAT
    if isinstance(value, dt.date):
        return DataType.DATETIME
    return DataType.STRING


def context(
    parameters: Mapping[str, ParameterValue] | None = None,
    as_of: dt.date | None = None,
    catalog: Catalog = BUILTIN,
) -> rule_engine.Context:
    """A typed context: the catalog's symbols, the policy's parameters, `$today` = `as_of`.

    Parameters are resolved before the firm's symbols, so a rule reads them by name; they are
    typed like the firm's columns, so a rule using them is type-checked as well.
    """
    parameters = dict(parameters or {})
    types = firm_types(catalog) | {name: parameter_type(v) for name, v in parameters.items()}
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
    enterprise: Mapping[str, Any],
    employees: Sequence[Mapping[str, Any]],
    catalog: Catalog = BUILTIN,
) -> dict[str, Any]:
    """One firm as the reference evaluator reads it (values from the registry's polars frames,
    which hold every column of `catalog`); a column a row lacks reads None."""
    firm_names, employee_names = _names(catalog)
    record = {name: rule_value(enterprise.get(name)) for name in firm_names}
    record["employees"] = tuple(
        SimpleNamespace(**{n: rule_value(e.get(n)) for n in employee_names}) for e in employees
    )
    return record


@lru_cache(maxsize=16)
def _names(catalog: Catalog) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return (
        tuple(c.name for c in catalog.firm_columns),
        tuple(c.name for c in catalog.employee_columns),
    )


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
