"""The registry contract: the columns of the enterprise and employee tables.

One declaration serves the importer (what to parse and check), the database models (what to store)
and the demo-data generator (what to write). Each column has a logical kind; the polars dtype and
the parsing rules follow from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import polars as pl

MONEY_DTYPE = pl.Decimal(16, 2)
"""Money is yuan with two decimals, exact: NUMERIC(16,2) in the database, Decimal in Python."""

DECIMAL_PRECISION = 28
"""Significant digits of a declared DECIMAL column: Python's decimal context, so rule-engine and
polars hold the same values exactly."""
DECIMAL_SCALE = 6
MAX_DECIMAL_SCALE = 18


class Kind(StrEnum):
    USCC = "uscc"
    TEXT = "text"
    DATE = "date"
    BOOL = "bool"
    MONEY = "money"
    CHOICE = "choice"
    INDUSTRY = "industry"
    INTEGER = "integer"
    """A whole number (a declared source's column: months insured, patents held)."""
    DECIMAL = "decimal"
    """An exact number with `Column.scale` digits after the point (a share, a rate)."""


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    nullable: bool = False
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    """Most characters a text cell may have (after trimming); the other kinds bound themselves."""
    personal: bool = False
    """Personal or secret data (a bank account, a person's id number): masked wherever it is
    shown, and a rule may only test whether it is present (policies/guards.py)."""
    scale: int | None = None
    """Digits after the point of a DECIMAL column (`DECIMAL_SCALE` unless declared)."""
    source: str | None = None
    """The declared source this column comes from (`subsidy.registry.catalog`); None for the
    built-in registries."""
    label_zh: str | None = None
    label_en: str | None = None
    """A declared column's label (the built-in columns' labels are `column.<name>` in terms.po)."""
    description: str | None = None

    @property
    def dtype(self) -> pl.DataType:
        match self.kind:
            case Kind.DATE:
                return pl.Date()
            case Kind.BOOL:
                return pl.Boolean()
            case Kind.MONEY:
                return MONEY_DTYPE
            case Kind.INTEGER:
                return pl.Int64()
            case Kind.DECIMAL:
                return pl.Decimal(
                    DECIMAL_PRECISION, DECIMAL_SCALE if self.scale is None else self.scale
                )
            case _:
                return pl.String()


@dataclass(frozen=True)
class Table:
    name: str
    """The registry's name in messages and snapshots: `enterprises` or `employees`."""
    key: str
    """The column that identifies a row; duplicates are refused."""
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def polars_schema(self) -> pl.Schema:
        return pl.Schema({c.name: c.dtype for c in self.columns})

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


SIZES = ("micro", "small", "medium", "large")
STATUSES = ("active", "suspended", "deregistered")
TAX_RATINGS = ("A", "B", "M", "C", "D")

# Real-world bounds, with room: the longest registered firm names are ~100 characters; a
# district is a county-level name; an account number is at most 34 characters (IBAN, ISO
# 13616), Chinese ones 16 to 21 digits; a person's id is 18 (GB 11643), a passport's fewer.
NAME_LENGTH = 200
DISTRICT_LENGTH = 100
ACCOUNT_LENGTH = 34
PERSON_ID_LENGTH = 32

ENTERPRISES = Table(
    name="enterprises",
    key="uscc",
    columns=(
        Column("uscc", Kind.USCC),
        Column("name", Kind.TEXT, max_length=NAME_LENGTH),
        Column("district", Kind.TEXT, max_length=DISTRICT_LENGTH),
        Column("industry", Kind.INDUSTRY),
        Column("established", Kind.DATE),
        Column("size", Kind.CHOICE, choices=SIZES),
        Column("status", Kind.CHOICE, choices=STATUSES),
        Column("tax_rating", Kind.CHOICE, choices=TAX_RATINGS),
        Column("dishonest", Kind.BOOL),
        Column("high_tech", Kind.BOOL),
        Column("revenue", Kind.MONEY, nullable=True),
        Column("tax_paid", Kind.MONEY, nullable=True),
        Column("ui_premium", Kind.MONEY, nullable=True),
        Column("bank_account", Kind.TEXT, nullable=True, max_length=ACCOUNT_LENGTH, personal=True),
    ),
)

EMPLOYEES = Table(
    name="employees",
    key="person_id",
    columns=(
        Column("person_id", Kind.TEXT, max_length=PERSON_ID_LENGTH, personal=True),
        Column("uscc", Kind.USCC),
        Column("hire_date", Kind.DATE),
        Column("leave_date", Kind.DATE, nullable=True),
        Column("insured", Kind.BOOL),
        Column("monthly_wage", Kind.MONEY, nullable=True),
        Column("local_hukou", Kind.BOOL),
        Column("birth_date", Kind.DATE, nullable=True),
    ),
)

TABLES = {t.name: t for t in (ENTERPRISES, EMPLOYEES)}
