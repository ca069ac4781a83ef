"""Random registries and rules for the differential tests.

Hypothesis drives the sizes and the seeds; the values are drawn from a seeded `random.Random`,
which is far cheaper than one hypothesis draw per cell or per grammar node (the file must run in
about a minute). Registries carry nulls, boundary dates (the as-of date and ±1 day) and amounts on
the half-up boundary; rules come from a grammar over the registry's symbols, typed so rule-engine
accepts them: numbers, flags, text and dates, with comparisons, and/or/not, arithmetic,
ternaries, `in`, builtins and comprehensions over `employees` (in the firm scope).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import polars as pl
from hypothesis import strategies as st

from subsidy.registry.schema import EMPLOYEES, ENTERPRISES, STATUSES, TAX_RATINGS

AS_OF = dt.date(2020, 6, 30)
PARAMETERS: dict[str, Any] = {
    "rate": Decimal("0.5"),
    "since": dt.date(2020, 1, 1),
    "floor": Decimal("4600"),
    "sector": "C27",
}
DATES = [
    AS_OF,
    AS_OF - dt.timedelta(days=1),
    AS_OF + dt.timedelta(days=1),
    dt.date(2020, 1, 1),
    dt.date(2019, 12, 31),
    dt.date(1995, 5, 5),
]
MONEY = [
    Decimal(v)
    for v in (
        "0", "0.01", "0.03", "0.10", "0.20", "0.05", "1.00", "4600.00", "12345.67",
        "99999999999.99", "-0.01",
    )
]  # fmt: skip
INDUSTRIES = ["C27", "C35", "I65", "F51", "C2"]


def _maybe(rnd: random.Random, values: list[Any], null_share: float = 0.25) -> Any:
    return None if rnd.random() < null_share else rnd.choice(values)


def _firm(rnd: random.Random, i: int) -> dict[str, Any]:
    return {
        "uscc": f"F{i:017d}",
        "name": f"firm {i}",
        "district": "西湖区",
        "industry": rnd.choice(INDUSTRIES),
        "established": rnd.choice(DATES),
        "size": rnd.choice(["micro", "small"]),
        "status": rnd.choice(STATUSES),
        "tax_rating": rnd.choice(TAX_RATINGS),
        "dishonest": rnd.random() < 0.3,
        "high_tech": rnd.random() < 0.5,
        "revenue": _maybe(rnd, MONEY),
        "tax_paid": _maybe(rnd, MONEY),
        "ui_premium": _maybe(rnd, MONEY),
        "bank_account": rnd.choice([None, "", "6222001", "abc"]),
    }


def _employee(rnd: random.Random, uscc: str, n: int) -> dict[str, Any]:
    return {
        "person_id": f"{uscc}-{n}",
        "uscc": uscc,
        "hire_date": rnd.choice(DATES),
        "leave_date": _maybe(rnd, DATES, 0.5),
        "insured": rnd.random() < 0.7,
        "monthly_wage": _maybe(rnd, MONEY, 0.15),
        "local_hukou": rnd.random() < 0.5,
        "birth_date": _maybe(rnd, DATES, 0.2),
    }


def make_registry(firms: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    rnd = random.Random(seed)
    rows = [_firm(rnd, i) for i in range(firms)]
    staff = [
        _employee(rnd, f["uscc"], n) for f in rows for n in range(rnd.choice([0, 0, 1, 2, 3, 8]))
    ]
    return (
        pl.DataFrame(rows, schema=ENTERPRISES.polars_schema),
        pl.DataFrame(staff, schema=EMPLOYEES.polars_schema),
    )


def registries() -> st.SearchStrategy[tuple[pl.DataFrame, pl.DataFrame]]:
    return st.builds(make_registry, st.integers(1, 30), st.integers(0, 2**32))


# ---------------------------------------------------------------------------- rules

_NUM_LITERALS = ["0", "1", "0.5", "0.25", "0.005", "0.015", "100", "4600", "3000000", "-1", "rate"]
_DIVISORS = ["2", "4", "100", "0.5", "8"]
_CMP = ["<", "<=", ">", ">=", "==", "!="]
_EMP_NUMS = ["e.monthly_wage", "e.hire_date.year", "(e.hire_date - $today).days"]
_FIRM_NUMS = [
    "revenue", "tax_paid", "ui_premium", "industry.length", "established.month",
    "(established - since).days", "employees.length",
]  # fmt: skip
_EMP_FLAGS = ["e.insured", "e.local_hukou", "e.leave_date == null", "e.monthly_wage != null"]
_FIRM_FLAGS = [
    "dishonest", "high_tech", "ui_premium == null", "bank_account != null", "false",
    "industry == sector", "industry =~ 'C'", "industry =~~ '5'", "status !~ 'act'",
    "industry[:2] in ['C2', 'I6']", "'7' in industry", "status[1:2] in tax_rating",
    "bank_account[1:3] == '22'", "status[2:] == 'tive'",
]  # fmt: skip
_DATES = ["$today", "since", "d'2020-01-01'", "d'2020-06-29'", "($today - t'P1D')"]
_EMP_DATES = ["e.hire_date", "e.leave_date", "e.birth_date"]
_TEXTS = ["industry", "status", "bank_account", "tax_rating"]
_TEXT_LITERALS = ["'C27'", "'active'", "''", "null", "'B'"]


class RuleMaker:
    """A typed random rule generator; `emp` marks the scope inside a comprehension."""

    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)

    def pick(self, options: list[str]) -> str:
        return self.rnd.choice(options)

    def num(self, depth: int, emp: bool = False) -> str:
        leaves = [self.pick(_NUM_LITERALS), self.pick(_EMP_NUMS if emp else _FIRM_NUMS)]
        if depth <= 0 or self.rnd.random() < 0.3:
            return self.pick(leaves)
        d = depth - 1
        choice = self.rnd.randrange(10 if emp else 13)
        n = self.num
        if choice == 0:
            return f"({n(d, emp)} + {n(d, emp)})"
        if choice == 1:
            return f"({n(d, emp)} - {n(d, emp)})"
        if choice == 2:
            return f"({n(d, emp)} * {self.pick(_NUM_LITERALS)})"
        if choice == 3:
            return f"({n(d, emp)} / {self.pick(_DIVISORS)})"
        if choice == 4:
            return f"-({n(d, emp)})"
        if choice == 5:
            return f"$abs({n(d, emp)})"
        if choice in (6, 7):
            items = ", ".join(n(d, emp) for _ in range(self.rnd.randint(1, 3)))
            return f"${self.pick(['min', 'max', 'sum'])}([{items}])"
        if choice in (8, 9):
            return f"({self.flag(d, emp)} ? {n(d, emp)} : {n(d, emp)})"
        if choice == 10:
            return f"[e for e in employees if {self.flag(d, True)}].length"
        fn = self.pick(["sum", "min", "max"])
        cond = f" if {self.flag(d, True)}" if choice == 11 else ""
        return f"${fn}([{n(d, True)} for e in employees{cond}])"

    def atom(self, emp: bool) -> str:
        choice = self.rnd.randrange(5)
        dates = _DATES + (_EMP_DATES if emp else ["established"])
        if choice == 0:
            return self.pick(_EMP_FLAGS if emp else _FIRM_FLAGS)
        if choice == 1:
            return f"({self.pick(dates)} {self.pick(_CMP)} {self.pick(dates)})"
        if emp:
            return f"({self.pick(_EMP_DATES)} == null)"
        if choice == 2:
            op = self.pick(["==", "!=", "<", ">="])
            right = self.pick([t for t in _TEXT_LITERALS if op in ("==", "!=") or t != "null"])
            return f"({self.pick(_TEXTS)} {op} {right})"
        if choice == 3:
            return f"({self.pick(_TEXTS)} in ['C27', 'C35', 'A', null])"
        return f"({self.pick(_TEXTS)} == null)"

    def flag(self, depth: int, emp: bool = False) -> str:
        if depth <= 0 or self.rnd.random() < 0.3:
            return self.atom(emp)
        d = depth - 1
        choice = self.rnd.randrange(6 if emp else 7)
        if choice == 0:
            return f"({self.num(d, emp)} {self.pick(_CMP)} {self.num(d, emp)})"
        if choice in (1, 2):
            op = self.pick(["and", "or"])
            return f"({self.flag(d, emp)} {op} {self.flag(d, emp)})"
        if choice == 3:
            return f"not ({self.flag(d, emp)})"
        if choice == 4:
            return f"({self.flag(d, emp)} ? {self.flag(d, emp)} : {self.flag(d, emp)})"
        if choice == 5:
            return f"({self.num(d, emp)} in [1, 0.5, 4600, null])"
        return f"${self.pick(['any', 'all'])}([{self.flag(d, True)} for e in employees])"


def make_policy(seed: int) -> tuple[str, str, Decimal | None]:
    maker = RuleMaker(seed)
    cap = maker.rnd.choice([None, Decimal("3000"), Decimal("0.01"), Decimal("100.5")])
    return maker.flag(3), maker.num(3), cap


def policies() -> st.SearchStrategy[tuple[str, str, Decimal | None]]:
    return st.builds(make_policy, st.integers(0, 2**32))
