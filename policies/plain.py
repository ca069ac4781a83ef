"""A clause as a business owner reads it: its label, and each value it read under its column's
label in plain words (`经营状态: 存续`, `注册资本: ¥5,000,000.00`), for the firm's page, the API
explanation and the notifications.

The label is the document's own (`PolicyDocument.clauses`, one per top-level clause); a
document without labels shows its rule text as before. A value's column label is
`column.<name>` in terms.po for the built-in registries and the declaration's label for a
declared column (`subsidy.registry.catalog`); a choice column's value is
`value.<column>.<choice>` (active -> 存续), money is yuan with the sign and two decimals, a date
a date, a personal column only whether it is on record. Only what the firm's data holds is
shown: a policy's parameters and `$today` are the rule's, not the firm's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from policies.document import Localized, PolicyDocument
from policies.readings import Reading, Shape
from subsidy import i18n
from subsidy.registry.catalog import Catalog
from subsidy.registry.schema import Column, Kind

EMPLOYEES = "employees"
PRESENT_SUFFIX = " != null"
"""How `policies.readings.label` names a personal column's reading."""

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
"""English month names, written out: the process locale must not change a firm's page."""


@dataclass(frozen=True)
class PlainValue:
    """One value a clause read, as the firm reads it."""

    column: str
    """The column as rules name it (`status`; a personal column without ` != null`)."""
    label: Localized
    text: Localized
    raw: Any
    """The API's JSON value of the reading (`policies.readings.Reading.json`)."""


def both(key: str, **values: object) -> Localized:
    """A term's words in both languages."""
    return Localized(zh=i18n.text("zh", key, **values), en=i18n.text("en", key, **values))


def column_label(name: str, catalog: Catalog) -> Localized:
    """A column's label: a declared column's from its declaration, a built-in's from terms.po,
    else its name (a column no label was written for reads as rules name it)."""
    column = catalog.column(name)
    if column is not None and column.label_zh:
        return Localized(zh=column.label_zh, en=column.label_en or column.label_zh)
    key = f"column.{name}"
    if i18n.has("zh", key):
        return both(key)
    return Localized(zh=name, en=name)


def plain_values(reads: Mapping[str, Reading], catalog: Catalog) -> list[PlainValue]:
    """The firm's own values among what a clause read (registry and declared columns, its
    employee records), in the order it read them."""
    found = []
    for symbol, reading in reads.items():
        name = symbol.removesuffix(PRESENT_SUFFIX)
        column = catalog.column(name)
        if column is None and name != EMPLOYEES:
            continue  # a parameter or a builtin: the policy's, not the firm's
        words = value_words(name, column, reading)
        found.append(PlainValue(name, column_label(name, catalog), words, reading.json()))
    return found


def value_words(name: str, column: Column | None, reading: Reading) -> Localized:
    """A value as the firm reads it, in both languages."""
    value = reading.value
    if reading.shape is Shape.PRESENT:
        return both(f"value.present.{'true' if value else 'false'}")
    if value is None:
        return both("promises.value.null")
    if reading.shape is Shape.BOOLEAN:
        return both(f"value.bool.{'true' if value else 'false'}")
    if reading.shape is Shape.MONEY:
        return _same(f"¥{value:,.2f}")
    if reading.shape is Shape.DATE and isinstance(value, dt.date):
        return Localized(
            zh=f"{value.year}年{value.month}月{value.day}日",
            en=f"{value.day} {_MONTHS[value.month - 1]} {value.year}",
        )
    if column is not None and column.kind is Kind.CHOICE:
        key = f"value.{name}.{value}"
        return both(key) if i18n.has("zh", key) else _same(str(value))
    if column is not None and column.kind is Kind.MONEY and isinstance(value, Decimal):
        return _same(f"¥{value:,.2f}")  # a declared money column read as a number
    return Localized(zh=reading.text("zh"), en=reading.text("en"))


def _same(text: str) -> Localized:
    return Localized(zh=text, en=text)


def clause_label(document: PolicyDocument, index: int) -> Localized | None:
    """The label of the eligibility's clause `index`, None when the document gives none."""
    label = document.clause_label(index)
    return None if label is None else label.words
