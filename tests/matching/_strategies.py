"""Random registries and rules for the differential tests.

Hypothesis drives the sizes and the seeds; the values are drawn from a seeded `random.Random`,
which is far cheaper than one hypothesis draw per cell or per grammar node (the file must run in
about a minute). Registries carry nulls in every nullable column, zeros (so that divisions by zero
happen), the calendar's ends (0001-01-01, 9999-12-31, the open-ended leave date) and the as-of
date ±1 day, names from every script (case folding traps, combining marks, digits Python's and
Rust's Unicode tables disagree on, emoji, a newline), industry codes of 1-4 characters, amounts on
the half-up boundary after / 2, 4, 8, amounts whose thirds and twelfths sit on the 28-digit edge,
the largest money and negatives. Rules come from a grammar over the registry's symbols, typed so
rule-engine accepts them: numbers, flags, text and dates, with comparisons, and/or/not, arithmetic
(`/` by anything, `//`, `%`, `**`), `??`, ternaries, `in`, text methods, indexing and slices,
regexes with Python-only features, date arithmetic near the calendar's ends, builtins and
comprehensions over `employees` (in the firm scope).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any, ClassVar

import polars as pl
from hypothesis import strategies as st

from subsidy.registry.catalog import from_content
from subsidy.registry.schema import EMPLOYEES, ENTERPRISES, STATUSES, TAX_RATINGS

AS_OF = dt.date(2020, 6, 30)
PARAMETERS: dict[str, Any] = {
    "rate": Decimal("0.5"),
    "since": dt.date(2020, 1, 1),
    "floor": Decimal("4600"),
    "sector": "C27",
    "zero": Decimal("0"),
    "months": Decimal("12"),
}
FIRST_DAY = dt.date(1, 1, 1)
LAST_DAY = dt.date(9999, 12, 31)
"""The calendar's ends; 9999-12-31 is also the usual sentinel of an open-ended leave date."""
DATES = [
    AS_OF,
    AS_OF - dt.timedelta(days=1),
    AS_OF + dt.timedelta(days=1),
    dt.date(2020, 1, 1),
    dt.date(2019, 12, 31),
    dt.date(1995, 5, 5),
    FIRST_DAY,
    FIRST_DAY + dt.timedelta(days=1),
    LAST_DAY,
    LAST_DAY - dt.timedelta(days=1),
    dt.date(2020, 2, 29),
]
MONEY = [
    Decimal(v)
    for v in (
        "0", "0.00", "0.01", "0.03", "0.10", "0.20", "0.05", "1.00", "4600.00", "12345.67",
        "99999999999.99", "-0.01",
        # half-up boundaries: /2 -> 0.005, 0.015, ...; /4 -> 0.125 ...; /8 -> 0.015, 0.045
        "0.02", "0.06", "0.50", "0.12", "0.36", "2.50", "4600.01", "0.04",
        # /3, /12 and back on the 28-digit edge (1/3*3 = 0.999...9 in rule-engine)
        "1.00", "2.00", "0.07", "100.00", "33333333333333.33", "12345678901234.56",
        # the largest money and negatives
        "99999999999999.99", "-99999999999999.99", "-0.05", "-4600.00", "-1.00",
    )
]  # fmt: skip
INDUSTRIES = ["C27", "C35", "I65", "F51", "C2", "C", "I", "C271", "I651", "c27", "İ6", "ß"]
NAMES = [
    "firm", "杭州西湖科技有限公司", "شركة", "कंपनी", "İstanbul", "ıi", "ΣΊΣΥΦΟΣ ς", "Straße",
    "ﬁrma", "e\u0301cole", "\U00011f50", "\U00011f59 7", "٣", "१२३", "🏭 co", "two\nlines",
    "line\n", "ǅ", "K", "ﬀ", "", " ", "Ǆ", "ἀ", "Ω", "\u00a0x",
]  # fmt: skip
"""Names from every script: Turkish dotted/dotless i, Greek final sigma, German ß, ligatures,
combining marks, KAWI digits (Unicode 15: digits to Rust's regex, not to Python 3.11's `re`),
other scripts' digits, emoji, titlecase digraphs, a Kelvin sign, a newline inside and at the end."""
ACCOUNTS = [None, "", "6222001", "abc", "ABC", "6222 0010", "账户1", "\U00011f50\U00011f51", "a\nb"]


def _maybe(rnd: random.Random, values: list[Any], null_share: float = 0.25) -> Any:
    return None if rnd.random() < null_share else rnd.choice(values)


def _firm(rnd: random.Random, i: int) -> dict[str, Any]:
    return {
        "uscc": f"F{i:017d}",
        "name": rnd.choice(NAMES) if rnd.random() < 0.7 else f"firm {i}",
        "district": rnd.choice(["西湖区", "上城区", "", "İ"]),
        "industry": rnd.choice(INDUSTRIES),
        "established": rnd.choice(DATES),
        "size": rnd.choice(["micro", "small", "medium", "large"]),
        "status": rnd.choice(STATUSES),
        "tax_rating": rnd.choice(TAX_RATINGS),
        "dishonest": rnd.random() < 0.3,
        "high_tech": rnd.random() < 0.5,
        "revenue": _maybe(rnd, MONEY),
        "tax_paid": _maybe(rnd, MONEY),
        "ui_premium": _maybe(rnd, MONEY),
        "bank_account": rnd.choice(ACCOUNTS),
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


def _string(text: str) -> str:
    """A rule-engine string literal of `text` (rule-engine decodes backslash escapes)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


_NUM_LITERALS = [
    "0", "1", "0.5", "0.25", "0.005", "0.015", "100", "4600", "3000000", "-1", "rate", "zero",
    "months", "3", "12", "7", "0.001", "99999999999999.99", "1e-3",
]  # fmt: skip
_CMP = ["<", "<=", ">", ">=", "==", "!="]
_EMP_NUMS = [
    "e.monthly_wage", "e.hire_date.year", "(e.hire_date - $today).days", "e.person_id.length",
    "(e.monthly_wage ?? 0)", "(e.leave_date - e.hire_date).days",
]  # fmt: skip
_FIRM_NUMS = [
    "revenue", "tax_paid", "ui_premium", "industry.length", "established.month",
    "(established - since).days", "employees.length", "name.length", "(ui_premium ?? revenue)",
    "established.day", "established.year",
]  # fmt: skip
_EMP_FLAGS = [
    "e.insured", "e.local_hukou", "e.leave_date == null", "e.monthly_wage != null",
    "e.person_id =~ " + _string(r"\d$"), "(e.leave_date ?? d'9999-12-31') > $today",
]  # fmt: skip
_FIRM_FLAGS = [
    "dishonest", "high_tech", "ui_premium == null", "bank_account != null", "false",
    "industry == sector", "industry =~ 'C'", "industry =~~ '5'", "status !~ 'act'",
    "industry[:2] in ['C2', 'I6']", "'7' in industry", "status[1:2] in tax_rating",
    "bank_account[1:3] == '22'", "status[2:] == 'tive'", "name.is_empty", "employees.is_empty",
    "(bank_account ?? '').is_empty", "name.as_lower == name", "name.as_upper != name.as_lower",
]  # fmt: skip
_DATES = [
    "$today", "since", "d'2020-01-01'", "d'2020-06-29'", "($today - t'P1D')", "d'0001-01-01'",
    "d'9999-12-31'", "d'9999-12-01'", "($today + t'P1D')",
]  # fmt: skip
_EMP_DATES = ["e.hire_date", "e.leave_date", "e.birth_date"]
_TEXTS = ["industry", "status", "bank_account", "tax_rating", "name", "district", "sector"]
_EMP_TEXTS = ["e.person_id"]
_TEXT_LITERALS = ["'C27'", "'active'", "''", "null", "'B'", "'c'", "'İ'", "'ß'", "'SS'", "'ﬁ'"]
_DAYS = [
    "t'P1D'", "t'P30D'", "t'P0D'", "t'P365D'", "t'P999999999D'", "t'P999999998D'",
    "t'P3652058D'", "t'P100000000D'", "t'PT0S'",
]  # fmt: skip
_PATTERNS = [
    r"C", r"(?i)c", r"\w+", r"\s", r"\d", r"\b\w", r"\d$", r"C(?=2)", r"(?<!C)2", r"(.)\1",
    r"^[A-C]\d+", r"İ|ı", r"(?i)straße", r"\W", r".$", r"^$", r"(?s)a.b", r"\D", r"\S+\s",
    r"(?i)ΣΊΣ", r"^\d{1,3}$", r"[^\W\d]", r"(?i)k", r"(?m)^l", r"\w\Z", r"\Aﬁ", r"x*", r"(?x) a b",
]  # fmt: skip
"""Regexes with what only Python's `re` does (flags, look-arounds, back-references, `$` before a
final newline, Unicode classes whose tables differ from Rust's) and a few plain ones."""


_REGEXES = [_string(p) for p in _PATTERNS]


class RuleMaker:
    """A typed random rule generator; `emp` marks the scope inside a comprehension.

    `num`, `flag`, `text`, `date` and `days` each make a rule of that rule-engine type, so that
    rule-engine's type checker accepts the rule (a rule it refuses would test nothing)."""

    firm_nums: ClassVar[list[str]] = _FIRM_NUMS
    emp_nums: ClassVar[list[str]] = _EMP_NUMS
    texts: ClassVar[list[str]] = _TEXTS
    emp_texts: ClassVar[list[str]] = _EMP_TEXTS
    dates: ClassVar[list[str]] = _DATES
    emp_dates: ClassVar[list[str]] = _EMP_DATES
    emp_flags: ClassVar[list[str]] = _EMP_FLAGS
    firm_flags: ClassVar[list[str]] = _FIRM_FLAGS
    """The leaves of each type (a subclass adds declared columns: `DeclaredRuleMaker`)."""

    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)

    def pick(self, options: list[str]) -> str:
        return self.rnd.choice(options)

    def _stop(self, depth: int) -> bool:
        return depth <= 0 or self.rnd.random() < 0.3

    # ------------------------------------------------------------------ numbers

    def num_leaf(self, emp: bool) -> str:
        leaves = [self.pick(_NUM_LITERALS), self.pick(self.firm_nums)]
        if emp:
            leaves += [self.pick(self.emp_nums), self.pick(self.emp_nums)]
        return self.pick(leaves)

    def num(self, depth: int, emp: bool = False) -> str:
        if self._stop(depth):
            return self.num_leaf(emp)
        d = depth - 1
        n = self.num
        choice = self.rnd.randrange(24 if emp else 28)
        if choice == 0:
            return f"({n(d, emp)} + {n(d, emp)})"
        if choice == 1:
            return f"({n(d, emp)} - {n(d, emp)})"
        if choice == 2:
            return f"({n(d, emp)} * {n(d, emp)})"
        if choice in (3, 4, 5):  # by anything: columns, aggregates, parameters, literals, zero
            return f"({n(d, emp)} / {n(d, emp)})"
        if choice == 6:
            return f"({n(d, emp)} // {n(d, emp)})"
        if choice == 7:
            return f"({n(d, emp)} % {n(d, emp)})"
        if choice == 8:
            return f"({n(d, emp)} ** {self.pick(['0', '1', '2', '3', '-1', '2', '0.5'])})"
        if choice == 9:
            return f"-({n(d, emp)})"
        if choice == 10:
            return f"$abs({n(d, emp)})"
        if choice in (11, 12):
            items = ", ".join(n(d, emp) for _ in range(self.rnd.randint(1, 3)))
            return f"${self.pick(['min', 'max', 'sum'])}([{items}])"
        if choice == 13:
            return f"({self.flag(d, emp)} ? {n(d, emp)} : {n(d, emp)})"
        if choice == 14:
            return f"({n(d, emp)} ?? {n(d, emp)})"
        if choice == 15:
            return f"({n(d, emp)}).{self.pick(['floor', 'ceiling'])}"
        if choice == 16:
            return f"{self.text(d, emp)}.length"
        if choice == 17:
            return f"({self.date(d, emp)} - {self.date(d, emp)}).days"
        if choice == 18:
            return f"({self.days(d, emp)}).days"
        if choice == 19:
            return f"({self.date(d, emp)}).{self.pick(['year', 'month', 'day'])}"
        if choice in (20, 21, 22, 23):
            return f"({n(d, emp)} {self.pick(['/', '//', '%', '*'])} {self.pick(_NUM_LITERALS)})"
        if choice == 24:
            return f"[e for e in employees if {self.flag(d, True)}].length"
        fn = self.pick(["sum", "min", "max"])
        cond = f" if {self.flag(d, True)}" if choice in (25, 26) else ""
        return f"${fn}([{n(d, True)} for e in employees{cond}])"

    # ------------------------------------------------------------------ text, dates, days

    def text(self, depth: int, emp: bool = False) -> str:
        leaves = self.texts + (self.emp_texts if emp else []) + [self.pick(_TEXT_LITERALS[:-1])]
        leaves = [t for t in leaves if t != "null"]
        if self._stop(depth):
            return self.pick(leaves)
        d = depth - 1
        t = self.text
        choice = self.rnd.randrange(9)
        if choice == 0:
            return f"({t(d, emp)} + {t(d, emp)})"
        if choice == 1:
            return f"{t(d, emp)}.{self.pick(['as_lower', 'as_upper'])}"
        if choice == 2:
            return f"{t(d, emp)}[{self.rnd.randint(-4, 3)}]"
        if choice == 3:
            bounds = ["", "null", "-1", "-2", "0", "1", "2", "-5", "10"]
            return f"{t(d, emp)}[{self.pick(bounds)}:{self.pick(bounds)}]"
        if choice == 4:
            return f"({self.num(d, emp)}).to_str"
        if choice == 5:
            return f"({t(d, emp)} ?? {t(d, emp)})"
        if choice == 6:
            return f"({self.flag(d, emp)} ? {t(d, emp)} : {t(d, emp)})"
        if choice == 7:
            return f"(bank_account ?? {t(d, emp)})"
        return self.pick(leaves)

    def date(self, depth: int, emp: bool = False) -> str:
        leaves = self.dates + ["established"] + (self.emp_dates if emp else [])
        if self._stop(depth):
            return self.pick(leaves)
        d = depth - 1
        choice = self.rnd.randrange(5)
        if choice == 0:
            return f"({self.date(d, emp)} + {self.days(d, emp)})"
        if choice == 1:
            return f"({self.date(d, emp)} - {self.days(d, emp)})"
        if choice == 2:
            return f"({self.date(d, emp)} ?? {self.date(d, emp)})"
        if choice == 3:
            return f"({self.flag(d, emp)} ? {self.date(d, emp)} : {self.date(d, emp)})"
        return f"{self.date(d, emp)}.date"

    def days(self, depth: int, emp: bool = False) -> str:
        if self._stop(depth):
            return self.pick(_DAYS)
        d = depth - 1
        choice = self.rnd.randrange(5)
        if choice in (0, 1):
            return f"({self.date(d, emp)} - {self.date(d, emp)})"
        if choice == 2:
            return f"({self.days(d, emp)} + {self.days(d, emp)})"
        if choice == 3:
            return f"({self.days(d, emp)} - {self.days(d, emp)})"
        return f"-{self.days(d, emp)}"

    # ------------------------------------------------------------------ flags

    def atom(self, emp: bool) -> str:
        choice = self.rnd.randrange(9)
        dates = self.dates + (self.emp_dates if emp else ["established"])
        texts = self.texts + (self.emp_texts if emp else [])
        if choice == 0:
            return self.pick(self.emp_flags if emp and self.rnd.random() < 0.7 else self.firm_flags)
        if choice == 1:
            return f"({self.pick(dates)} {self.pick(_CMP)} {self.pick(dates)})"
        if choice == 2:
            op = self.pick(["==", "!=", "<", ">="])
            right = self.pick([t for t in _TEXT_LITERALS if op in ("==", "!=") or t != "null"])
            return f"({self.pick(texts)} {op} {right})"
        if choice == 3:
            return f"({self.pick(texts)} in ['C27', 'C35', 'A', null])"
        if choice == 4:
            op = self.pick(["=~", "=~~", "!~", "!~~"])
            return f"({self.pick(texts)} {op} {self.pick(_REGEXES)})"
        if choice == 5:
            fn = self.pick(["starts_with", "ends_with"])
            return f"{self.pick(texts)}.{fn}({self.pick(_TEXT_LITERALS[:-1])})"
        if choice == 6:
            return f"({self.pick(texts)} == null)"
        if choice == 7:
            return (
                f"({self.pick(_DAYS)} {self.pick(_CMP)} ({self.pick(dates)} - {self.pick(dates)}))"
            )
        return f"({self.pick(dates)} + {self.pick(_DAYS)} {self.pick(_CMP)} {self.pick(dates)})"

    def flag(self, depth: int, emp: bool = False) -> str:
        if self._stop(depth):
            return self.atom(emp)
        d = depth - 1
        choice = self.rnd.randrange(14 if emp else 15)
        if choice in (0, 1):
            return f"({self.num(d, emp)} {self.pick(_CMP)} {self.num(d, emp)})"
        if choice in (2, 3):
            op = self.pick(["and", "or"])
            return f"({self.flag(d, emp)} {op} {self.flag(d, emp)})"
        if choice == 4:
            return f"not ({self.flag(d, emp)})"
        if choice == 5:
            return f"({self.flag(d, emp)} ? {self.flag(d, emp)} : {self.flag(d, emp)})"
        if choice == 6:
            return f"({self.num(d, emp)} in [1, 0.5, 4600, null])"
        if choice == 7:
            return f"({self.text(d, emp)} {self.pick(_CMP)} {self.text(d, emp)})"
        if choice == 8:
            op = self.pick(["=~", "=~~", "!~", "!~~"])
            return f"({self.text(d, emp)} {op} {self.pick(_REGEXES)})"
        if choice == 9:
            fn = self.pick(["starts_with", "ends_with"])
            return f"{self.text(d, emp)}.{fn}({self.text(d, emp)})"
        if choice == 10:
            return f"({self.date(d, emp)} {self.pick(_CMP)} {self.date(d, emp)})"
        if choice == 11:
            return f"({self.days(d, emp)} {self.pick(_CMP)} {self.days(d, emp)})"
        if choice == 12:
            return f"{self.text(d, emp)}.is_empty"
        if choice == 13:
            return f"({self.text(d, emp)} in {self.text(d, emp)})"
        return f"${self.pick(['any', 'all'])}([{self.flag(d, True)} for e in employees])"


def make_policy(seed: int) -> tuple[str, str, Decimal | None]:
    maker = RuleMaker(seed)
    cap = maker.rnd.choice([None, Decimal("3000"), Decimal("0.01"), Decimal("100.5")])
    return maker.flag(3), maker.num(3), cap


def policies() -> st.SearchStrategy[tuple[str, str, Decimal | None]]:
    return st.builds(make_policy, st.integers(0, 2**32))


# ---------------------------------------------------------------------------- declared columns

DECLARED = from_content(
    1,
    {
        "sources": [
            {
                "name": "firm-facts",
                "department": "Test bureau",
                "key": "uscc",
                "columns": [
                    {"name": n, "type": t, "nullable": nullable, "label": {"zh": n, "en": n}}
                    for n, t, nullable in (
                        ("d_text", "text", True),
                        ("d_int", "integer", False),
                        ("d_money", "money", True),
                        ("d_share", "decimal", True),
                        ("d_date", "date", True),
                        ("d_flag", "bool", False),
                    )
                ],
            },
            {
                "name": "person-facts",
                "department": "Test bureau",
                "key": "person_id",
                "columns": [
                    {"name": n, "type": t, "nullable": True, "label": {"zh": n, "en": n}}
                    for n, t in (
                        ("p_months", "integer"),
                        ("p_wage", "money"),
                        ("p_rate", "decimal"),
                        ("p_since", "date"),
                        ("p_flag", "bool"),
                        ("p_note", "text"),
                    )
                ],
            },
        ]
    },
)
"""A column of every declarable type by firm and by person (each read null where its source
has no row, whatever `nullable` says)."""

INTEGERS = [0, 1, -1, 3, 6, 12, 2020, 9_223_372_036_854_775_807, -9_223_372_036_854_775_808]
SHARES = [
    Decimal(v)
    for v in (
        "0", "0.03", "0.029999", "0.5", "-0.000001", "1.000001", "0.333333", "12345.678901",
        "9999999999999999999999.999999", "-9999999999999999999999.999999",
    )
]  # fmt: skip
"""Declared decimals at the default scale (6 digits after the point, 28 significant)."""


def _declared_firm(rnd: random.Random) -> dict[str, Any]:
    """A firm's row of the firm source, or all null: the source has no row for it."""
    if rnd.random() < 0.2:
        return dict.fromkeys(("d_text", "d_int", "d_money", "d_share", "d_date", "d_flag"))
    return {
        "d_text": _maybe(rnd, NAMES + INDUSTRIES),
        "d_int": rnd.choice(INTEGERS),
        "d_money": _maybe(rnd, MONEY),
        "d_share": _maybe(rnd, SHARES),
        "d_date": _maybe(rnd, DATES),
        "d_flag": rnd.random() < 0.5,
    }


def _declared_person(rnd: random.Random) -> dict[str, Any]:
    return {
        "p_months": _maybe(rnd, INTEGERS[:6], 0.3),
        "p_wage": _maybe(rnd, MONEY, 0.3),
        "p_rate": _maybe(rnd, SHARES, 0.3),
        "p_since": _maybe(rnd, DATES, 0.3),
        "p_flag": _maybe(rnd, [True, False], 0.3),
        "p_note": _maybe(rnd, NAMES, 0.3),
    }


def make_declared_registry(firms: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A registry as `current_frames` gives it under `DECLARED`: the built-in columns, then
    the declared ones (null where the source has no row)."""
    enterprises, employees = make_registry(firms, seed)
    rnd = random.Random(seed + 1)
    firm_schema = {c.name: c.dtype for c in DECLARED.firm_sources()[0].columns}
    person_schema = {c.name: c.dtype for c in DECLARED.person_sources()[0].columns}
    firm_rows = [_declared_firm(rnd) for _ in range(enterprises.height)]
    person_rows = [_declared_person(rnd) for _ in range(employees.height)]
    return (
        pl.concat([enterprises, pl.DataFrame(firm_rows, schema=firm_schema)], how="horizontal"),
        pl.concat([employees, pl.DataFrame(person_rows, schema=person_schema)], how="horizontal"),
    )


def declared_registries() -> st.SearchStrategy[tuple[pl.DataFrame, pl.DataFrame]]:
    return st.builds(make_declared_registry, st.integers(1, 30), st.integers(0, 2**32))


class DeclaredRuleMaker(RuleMaker):
    """Rules over the built-in and the declared columns alike, the declared ones often."""

    firm_nums: ClassVar[list[str]] = [
        *_FIRM_NUMS, "d_int", "d_money", "d_share", "(d_money ?? 0)", "(d_share ?? d_int)",
        "d_date.year", "(d_date - since).days", "d_text.length", "d_money / revenue",
        "(d_money ?? 0) / (revenue ?? 1)", "$sum([e.p_wage ?? 0 for e in employees])",
        "[e for e in employees if (e.p_months ?? 0) >= 6].length",
        "[e for e in employees if e.p_flag].length",
        "[e for e in employees if e.p_note == null].length",
        "[e for e in employees if (e.p_rate ?? 0) > 0.03].length",
    ]  # fmt: skip
    emp_nums: ClassVar[list[str]] = [
        *_EMP_NUMS, "e.p_months", "e.p_wage", "e.p_rate", "(e.p_months ?? 0)",
        "(e.p_since - e.hire_date).days", "e.p_wage * e.p_rate", "d_int",
    ]  # fmt: skip
    texts: ClassVar[list[str]] = [*_TEXTS, "d_text", "(d_text ?? '')"]
    emp_texts: ClassVar[list[str]] = [*_EMP_TEXTS, "e.p_note"]
    dates: ClassVar[list[str]] = [*_DATES, "d_date", "(d_date ?? $today)"]
    emp_dates: ClassVar[list[str]] = [*_EMP_DATES, "e.p_since"]
    emp_flags: ClassVar[list[str]] = [
        *_EMP_FLAGS, "e.p_flag", "e.p_flag == null", "(e.p_flag ?? false)", "e.p_months >= 6",
        "e.p_rate > 0.03", "d_flag", "e.p_note == null", "(e.p_note ?? '').is_empty",
    ]  # fmt: skip
    firm_flags: ClassVar[list[str]] = [
        *_FIRM_FLAGS, "d_flag", "d_flag == null", "d_text == null", "d_money >= 0.03 * revenue",
        "(d_text ?? '') =~ 'C'", "d_share > 0.03", "d_int == 6",
        "$any([e.p_note == null for e in employees])", "(d_flag and high_tech)",
        "d_flag != dishonest", "$all([(e.p_note ?? '') =~ 'i' for e in employees])",
    ]  # fmt: skip


def make_declared_policy(seed: int) -> tuple[str, str, Decimal | None]:
    maker = DeclaredRuleMaker(seed)
    cap = maker.rnd.choice([None, Decimal("3000"), Decimal("0.01"), Decimal("100.5")])
    return maker.flag(3), maker.num(3), cap


def declared_policies() -> st.SearchStrategy[tuple[str, str, Decimal | None]]:
    return st.builds(make_declared_policy, st.integers(0, 2**32))
