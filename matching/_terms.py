"""Compiled sub-expressions: a polars value paired with a polars error flag.

rule-engine raises on some firms and not on others (a null where a number is needed, `$min` of
an empty list); the compiled matcher must say on exactly which firms. Every compiled
sub-expression is therefore a `Term`: its value and the condition under which the reference
raises. Static facts (kind, nullability, digit bounds) decide which checks are needed at all, so
the generated expressions stay small.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import Enum
from typing import Any

import polars as pl

MAX_DIGITS = 28
"""rule-engine computes in Python's default Decimal context: 28 significant digits. Below that
every `+ - *` result is exact in Python, so an exact polars result equals it."""


class Kind(Enum):
    BOOL = "bool"
    NUM = "number"
    STR = "string"
    DATE = "date"
    DAYS = "timedelta"
    NULL = "null"
    RECORD = "employee record"
    VALUE = "value"
    """A list, set or mapping: only ever inside a region (see matching/_python.py)."""


class NeedsPython(Exception):
    """Raised by a translation that polars cannot reproduce exactly: the node becomes a region,
    evaluated by rule-engine per distinct input (matching/_python.py). Never leaves the compiler."""


@dataclass(frozen=True)
class Term:
    """One compiled sub-expression. `error` is None when it can never raise."""

    kind: Kind
    value: pl.Expr
    error: pl.Expr | None
    nullable: bool
    sig: str
    digits: int = 0
    """NUM: a bound on the digits before the decimal point; DAYS: on the day count."""
    scale: int = 0
    """NUM: the value is a Decimal(38, scale), exactly."""
    const: Any = None
    """The Python value of a constant (parameters, literals); None otherwise."""
    exponent: bool = True
    """NUM: the Decimal rule-engine computes has exponent -scale, as the polars value; False where
    the translation unified scales (a ternary, `??`, $min of a list, x / c as x * 1/c, a sum over
    employees, which rule-engine gives as 0 for none). Only `.to_str` can tell."""
    approx: Decimal | None = None
    """NUM: None when the value is rule-engine's exactly; else a bound on how far it may be from
    it (a quotient computed at a fixed scale, see matching/_approx.py)."""
    pending: bool = False
    """A region whose value polars cannot hold exactly (a 28-digit quotient, a datetime): the
    enclosing node must join the region; `value` is a placeholder."""

    @property
    def is_const(self) -> bool:
        return self.const is not None


def column_name(prefix: str, key: str) -> str:
    """The name of a computed column, derived from its canonical form: equal keys, one column."""
    return prefix + hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


def num_dtype(scale: int) -> pl.Decimal:
    return pl.Decimal(38, scale)


def checked(term: Term) -> Term:
    """A number whose exact value may not fit rule-engine's 28 significant digits (where it
    starts rounding) is left to rule-engine itself."""
    if term.kind is Kind.NUM and term.digits + term.scale > MAX_DIGITS:
        raise NeedsPython
    return term


def any_error(*errors: pl.Expr | None) -> pl.Expr | None:
    """The union of error flags, None when none can raise."""
    present = [e for e in errors if e is not None]
    if not present:
        return None
    result = present[0]
    for e in present[1:]:
        result = result | e
    return result


def when_error(condition: pl.Expr, error: pl.Expr | None) -> pl.Expr | None:
    """An error that only counts when `condition` (evaluated without error) holds."""
    return None if error is None else condition & error


def null_error(*terms: Term) -> pl.Expr | None:
    """rule-engine raises on a null operand where a value is needed."""
    return any_error(*(t.value.is_null() for t in terms if t.nullable))


def error_or_false(term: Term) -> pl.Expr:
    return pl.lit(False) if term.error is None else term.error


def truthy(term: Term) -> pl.Expr:
    """Python's bool() of the value, as `and`, `or`, `not` and the ternary take it."""
    v = term.value
    match term.kind:
        case Kind.BOOL:
            return v.fill_null(False) if term.nullable else v
        case Kind.NUM:
            return (v != 0).fill_null(False)
        case Kind.STR:
            return (v.str.len_bytes() > 0).fill_null(False)
        case Kind.DAYS:
            return (v != 0).fill_null(False)
        case Kind.DATE | Kind.RECORD:
            return v.is_not_null() if term.nullable else pl.lit(True)
        case Kind.NULL:
            return pl.lit(False)
    raise AssertionError(term.kind)


def number_literal(value: Decimal, sig: str | None = None) -> Term:
    """A Decimal constant, exactly, at its own scale."""
    if not value.is_finite():
        raise NeedsPython  # inf and nan: rule-engine's own arithmetic
    _, digit_tuple, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    scale = max(0, -exponent)
    digits = max(0, len(digit_tuple) + exponent)
    if digits + scale > MAX_DIGITS:  # e.g. 1e-40: no Decimal(38, s) holds it
        raise NeedsPython
    term = Term(
        Kind.NUM,
        pl.lit(value, dtype=num_dtype(scale)),
        None,
        False,
        sig or f"num({value})",
        digits=digits,
        scale=scale,
        const=value,
        exponent=exponent <= 0,
    )
    return checked(term)


def rescale(term: Term, scale: int) -> Term:
    """The same number as a Decimal(38, scale) with scale >= its own: exact."""
    if term.scale == scale:
        return term
    return replace(term, value=term.value.cast(num_dtype(scale)), scale=scale)
