"""Quotients in polars, with a bound on how far they may be from rule-engine's.

rule-engine divides in Python's Decimal context: the quotient rounded to 28 significant digits,
and every later `+ - *` rounded again. Polars cannot round at 28 significant digits (the scale
of that digit varies from firm to firm), but it can divide at a fixed scale. A quotient computed
that way is an *approximate* term: its value differs from the reference's by at most `approx`
(absolute, a bound derived from the digit bounds, never from the data).

Approximate terms only reach two kinds of decisions: a comparison, and the amount's rounding to
the fen. Where the polars value is farther than the bound from the decision's boundary, the
reference decides the same way, exactly; the few firms within the bound are decided by
rule-engine itself (a region restricted to them, matching/_python.py). So the outcome is exact on
every firm, and Python runs only where a firm sits on a boundary.
"""

from __future__ import annotations

import decimal
from dataclasses import replace
from decimal import Decimal

import polars as pl

from matching._terms import Kind, NeedsPython, Term, any_error, null_error, num_dtype, rescale

_TOTAL = 38
"""Digits a polars Decimal holds."""
_MIN_SCALE = 8
"""Below this many decimals an approximation is too coarse to decide anything useful."""
_PRECISION = 28


def _bound(value: Decimal) -> Decimal:
    """A bound computed upwards, never rounded below the true one."""
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        ctx.rounding = decimal.ROUND_CEILING
        return +value


def _ulp(digits: int) -> Decimal:
    """The most rule-engine's rounding to 28 significant digits moves a result below 10^digits."""
    return Decimal(5).scaleb(digits - _PRECISION - 1)


def error_of(term: Term) -> Decimal:
    return term.approx if term.approx is not None else Decimal(0)


def fit(term: Term) -> Term:
    """The term at a scale its digits leave room for in 38 (rounding adds 10^-scale)."""
    if term.digits + term.scale <= _TOTAL:
        return term
    scale = _TOTAL - term.digits
    if scale < _MIN_SCALE:
        raise NeedsPython
    approx = _bound(error_of(term) + Decimal(1).scaleb(-scale))
    return replace(term, value=term.value.cast(num_dtype(scale)), scale=scale, approx=approx)


def at_scale(term: Term, scale: int) -> Term:
    """The term at `scale`: exact when widening, rounding (10^-scale more error) when narrowing."""
    if term.scale <= scale:
        return rescale(term, scale)
    approx = _bound(error_of(term) + Decimal(1).scaleb(-scale))
    return replace(term, value=term.value.cast(num_dtype(scale)), scale=scale, approx=approx)


def _common(a: Term, b: Term, digits: int) -> tuple[Term, Term]:
    """Both at one scale that leaves room for `digits` before the point."""
    scale = min(max(a.scale, b.scale), _TOTAL - digits)
    if scale < _MIN_SCALE and scale < max(a.scale, b.scale):
        raise NeedsPython
    return at_scale(a, scale), at_scale(b, scale)


def quotient(a: Term, b: Term, sig: str) -> Term:
    """a / b at a fixed scale; b exact (its smallest non-zero magnitude bounds the error)."""
    if b.approx is not None or b.kind is not Kind.NUM or a.kind is not Kind.NUM:
        raise NeedsPython
    smallest = abs(b.const) if isinstance(b.const, Decimal) else Decimal(1).scaleb(-b.scale)
    if smallest == 0:
        raise NeedsPython  # `x / 0`: an error on every firm, left to rule-engine
    digits = a.digits + max(0, -smallest.adjusted())
    scale = _TOTAL - max(a.digits, digits) - 1
    if scale < _MIN_SCALE:
        raise NeedsPython
    left = a if a.scale == scale else replace(a, value=a.value.cast(num_dtype(scale)), scale=scale)
    zero = b.value == 0
    divisor = pl.when(zero).then(pl.lit(1, dtype=num_dtype(b.scale))).otherwise(b.value)
    approx = error_of(a) / smallest + Decimal(1).scaleb(-scale) + _ulp(digits)
    if a.scale > scale:
        approx += Decimal(1).scaleb(-scale) / smallest
    error = any_error(a.error, b.error, null_error(a, b), zero.fill_null(False))
    return Term(
        Kind.NUM,
        left.value / divisor,
        error,
        a.nullable or b.nullable,
        sig,
        digits=digits,
        scale=scale,
        approx=_bound(approx),
    )


def product(a: Term, b: Term, sig: str) -> Term:
    """a * b, either approximate: each error scaled by the other's largest magnitude."""
    a, b = _room_for_product(a, b)
    big_a, big_b = Decimal(1).scaleb(a.digits), Decimal(1).scaleb(b.digits)
    ea, eb = error_of(a), error_of(b)
    digits = a.digits + b.digits
    term = Term(
        Kind.NUM,
        a.value * b.value,
        any_error(a.error, b.error, null_error(a, b)),
        a.nullable or b.nullable,
        sig,
        digits=digits,
        scale=a.scale + b.scale,
        approx=_bound(ea * big_b + eb * big_a + ea * eb + _ulp(digits)),
    )
    return fit(term)


def _room_for_product(a: Term, b: Term) -> tuple[Term, Term]:
    """Operands whose product's scale leaves room for its digits (the finer one rounded, its
    own bound widened; the product's bound then scales it by the other's magnitude)."""
    digits = a.digits + b.digits
    while digits + a.scale + b.scale > _TOTAL:
        if a.scale >= b.scale:
            a = _narrowed(a, _TOTAL - digits - b.scale)
        else:
            b = _narrowed(b, _TOTAL - digits - a.scale)
    return a, b


def _narrowed(term: Term, scale: int) -> Term:
    if scale < _MIN_SCALE // 2:
        raise NeedsPython
    return at_scale(term, scale)


def total(a: Term, b: Term, subtract: bool, sig: str) -> Term:
    """a + b or a - b, either approximate."""
    digits = max(a.digits, b.digits) + 1
    a, b = _common(a, b, digits)
    scale = a.scale
    approx = error_of(a) + error_of(b) + _ulp(digits)
    value = a.value - b.value if subtract else a.value + b.value
    term = Term(
        Kind.NUM,
        value,
        any_error(a.error, b.error, null_error(a, b)),
        a.nullable or b.nullable,
        sig,
        digits=digits,
        scale=scale,
        approx=_bound(approx),
    )
    return fit(term)


def margin(bound: Decimal, scale: int) -> pl.Expr:
    """The bound as a literal at `scale`, rounded up."""
    step = Decimal(1).scaleb(-scale)
    rounded = max(bound.quantize(step, rounding=decimal.ROUND_CEILING), step)
    return pl.lit(rounded, dtype=num_dtype(scale))


def near(a: Term, b: Term) -> tuple[Term, Term, pl.Expr]:
    """Both at one scale, and where they are too close for the approximation to order them."""
    digits = max(a.digits, b.digits) + 1
    a, b = _common(a, b, digits)
    scale = a.scale
    bound = error_of(a) + error_of(b)
    return a, b, ((a.value - b.value).abs() <= margin(bound, scale)).fill_null(False)


def near_half_fen(amount: Term) -> tuple[Term, pl.Expr]:
    """The amount (narrowed if its hundredfold would not fit) and where it may round to another
    fen than the reference's (a half-fen within the bound)."""
    if amount.digits > 26:  # rounding to the fen fails in rule-engine from 10^26 on
        raise NeedsPython
    amount = fit(replace(amount, digits=amount.digits + 3))
    amount = replace(amount, digits=amount.digits - 3)
    if amount.scale < 3:
        raise NeedsPython
    hundredfold = amount.value.abs() * pl.lit(100, dtype=num_dtype(0)) + pl.lit(
        Decimal("0.5"), dtype=num_dtype(1)
    )
    distance = (hundredfold - hundredfold.round(0)).abs()
    near = (distance <= margin(error_of(amount) * 100, amount.scale)).fill_null(False)
    return amount, near
