"""What a clause read, as a person reads it: each symbol with its real value and its kind.

The kind comes from where the symbol is declared, never from the value: a registry column's
kind from the registry contract (`subsidy.registry.schema`: money is yuan with two decimals, a
date a date), a parameter's from its type in the document (a number is shown exactly as the
document gives it, `1095` or `0.5`), `$today` and `$now` are the evaluation's as-of date, and
`employees` is a count of records. A personal column is shown only as present or not.

`Reading.text(language)` is the words for the portal and the command line;
`Reading.json()` the value an API answers (money and non-integral numbers as exact text, as
every amount of the API).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any

from policies.guards import PERSONAL_SYMBOLS
from policies.language import ParameterValue
from subsidy import i18n
from subsidy.registry.catalog import BUILTIN, Catalog
from subsidy.registry.schema import Kind


class Shape(StrEnum):
    """What kind of value a symbol holds."""

    MONEY = "money"
    NUMBER = "number"
    DATE = "date"
    BOOLEAN = "boolean"
    TEXT = "text"
    RECORDS = "records"
    """`employees`: the value is how many records the firm has."""
    PRESENT = "present"
    """A personal column: the value is whether it is filled in, never its characters."""
    LIST = "list"


_COLUMN_SHAPES = {
    Kind.MONEY: Shape.MONEY,
    Kind.DATE: Shape.DATE,
    Kind.BOOL: Shape.BOOLEAN,
    Kind.USCC: Shape.TEXT,
    Kind.TEXT: Shape.TEXT,
    Kind.CHOICE: Shape.TEXT,
    Kind.INDUSTRY: Shape.TEXT,
    Kind.INTEGER: Shape.NUMBER,
    Kind.DECIMAL: Shape.NUMBER,
}


@lru_cache(maxsize=16)
def column_shapes(catalog: Catalog = BUILTIN) -> dict[str, Shape]:
    """Each firm column's shape under `catalog` (a declared column's from its declared type)."""
    return {c.name: _COLUMN_SHAPES[c.kind] for c in catalog.firm_columns}


COLUMN_SHAPES = column_shapes(BUILTIN)
"""Each enterprise column's shape, from the registry contract."""

AS_OF_BUILTINS = frozenset({"$today", "$now"})
"""Builtins whose value is the evaluation's as-of date (`policies.language.context`)."""
CONSTANT_BUILTINS = {"$e": Decimal("2.718281828459045"), "$pi": Decimal("3.141592653589793")}


@dataclass(frozen=True)
class Reading:
    """One symbol's value as a clause read it; `value` is None when the firm has no value."""

    shape: Shape
    value: Any

    def text(self, language: i18n.Language) -> str:
        value = self.value
        if value is None:
            return i18n.text(language, "promises.value.null")
        match self.shape:
            case Shape.MONEY:
                return i18n.text(language, "promises.value.money", amount=f"{value:,.2f}")
            case Shape.NUMBER:
                return _exact(value)
            case Shape.DATE:
                return value.isoformat()  # type: ignore[no-any-return]
            case Shape.BOOLEAN | Shape.PRESENT:
                return i18n.text(language, f"promises.value.{'true' if value else 'false'}")
            case Shape.RECORDS:
                return i18n.text(language, "promises.value.records", count=f"{value:,}")
            case Shape.LIST:
                return "[" + ", ".join(item.text(language) for item in value) + "]"
        return str(value)

    def json(self) -> Any:
        value = self.value
        if value is None:
            return None
        match self.shape:
            case Shape.MONEY:
                return f"{value:.2f}"
            case Shape.NUMBER:
                return int(value) if value == value.to_integral_value() else _exact(value)
            case Shape.DATE:
                return value.isoformat()
            case Shape.LIST:
                return [item.json() for item in value]
        return value


def _exact(number: Decimal) -> str:
    """The number's own digits, never an exponent: `1095`, `0.5`, `1000` for `1E+3`."""
    return format(number, "f")


def label(name: str) -> str:
    """How a read symbol is named: a personal column by what may be known of it."""
    return f"{name} != null" if name in PERSONAL_SYMBOLS else name


def reading(
    name: str,
    record: Mapping[str, Any],
    parameters: Mapping[str, ParameterValue],
    as_of: dt.date,
    catalog: Catalog = BUILTIN,
) -> Reading | None:
    """The value of `name` for this firm, or None for what holds no value (a builtin function
    such as `$sum`); a column's shape is its kind's in `catalog`."""
    if name in AS_OF_BUILTINS:
        return Reading(Shape.DATE, as_of)
    if name in CONSTANT_BUILTINS:
        return Reading(Shape.NUMBER, CONSTANT_BUILTINS[name])
    if name.startswith("$"):
        return None
    if name in PERSONAL_SYMBOLS:  # never its characters (a rule may only test its presence)
        return Reading(Shape.PRESENT, record.get(name) is not None)
    if name in parameters:
        return _of_value(parameters[name])
    value = record.get(name)
    if name == "employees":
        return Reading(Shape.RECORDS, len(value or ()))
    shapes = column_shapes(catalog)
    if name in shapes:
        return Reading(shapes[name], _plain(value))
    return _of_value(value)


def readings(
    symbols: tuple[str, ...],
    record: Mapping[str, Any],
    parameters: Mapping[str, ParameterValue],
    as_of: dt.date,
    catalog: Catalog = BUILTIN,
) -> dict[str, Reading]:
    """What a clause reading `symbols` read, by label, in order."""
    found = {}
    for name in symbols:
        value = reading(name, record, parameters, as_of, catalog)
        if value is not None:
            found[label(name)] = value
    return found


def _plain(value: Any) -> Any:
    """A record's value as the registry holds it (the record has dates as midnight datetimes)."""
    return value.date() if isinstance(value, dt.datetime) else value


def _of_value(value: Any) -> Reading:
    """A parameter's value (typed by the document) or, past the registry, by its Python type."""
    value = _plain(value)
    if isinstance(value, bool):
        return Reading(Shape.BOOLEAN, value)
    if isinstance(value, int):
        return Reading(Shape.NUMBER, Decimal(value))
    if isinstance(value, Decimal):
        return Reading(Shape.NUMBER, value)
    if isinstance(value, dt.date):
        return Reading(Shape.DATE, value)
    if isinstance(value, list | tuple):
        return Reading(Shape.LIST, tuple(_of_value(item) for item in value))
    return Reading(Shape.TEXT, value if value is None else str(value))


def texts(found: Mapping[str, Reading], language: i18n.Language) -> dict[str, str]:
    """Each reading's words in `language`."""
    return {name: value.text(language) for name, value in found.items()}


def values(found: Mapping[str, Reading]) -> dict[str, Any]:
    """Each reading's JSON value."""
    return {name: value.json() for name, value in found.items()}
