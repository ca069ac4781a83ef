"""Compile a policy's rules into polars expressions over the whole registry at once.

The reference (`policies.language.evaluate_firm`) evaluates one firm at a time; the compiled
policy gives every firm the same qualifies / amount / error in one polars pass. Comprehensions
over `employees` become group-by aggregates, computed once by `prepare` for all the policies of a
run. What polars cannot reproduce exactly is evaluated by rule-engine itself, once per distinct
input tuple (matching/_python.py), in `prepare`, shared by the policies of a run. Only what has
no meaning over the registry raises `UnsupportedRule` at compile time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
import rule_engine

from matching import _approx, _python
from matching._aggregates import Aggregate, attach
from matching._terms import Kind, NeedsPython, Term, error_or_false, num_dtype, rescale
from matching._translate import FIRM_PREFIX, Scope, compile_node, exactly, region
from matching.errors import InvalidRule, MatchingError, UnsupportedRule
from policies.language import RULE_ERRORS, ParameterValue, context, round_amount
from subsidy.registry.catalog import BUILTIN, Catalog

__all__ = [
    "CompiledPolicy",
    "UnsupportedRule",
    "check_compilable",
    "compile_policy",
    "evaluate",
    "prepare",
]


AMOUNT_DTYPE = pl.Decimal(38, 2)
"""Amounts are yuan to the fen; wider than the registry's Decimal(16, 2) because a rule may
compute more than it holds (the reference does not fail there, so neither may the matcher)."""


_AMOUNT_DIGITS = 26
"""Python rounds an amount to the fen within 28 significant digits: 26 before the point."""


@dataclass(frozen=True)
class CompiledPolicy:
    """A policy's outcome as polars expressions over a prepared firm frame."""

    qualifies: pl.Expr
    amount: pl.Expr
    error: pl.Expr
    aggregates: tuple[Aggregate, ...]
    regions: tuple[_python.Region, ...] = ()
    """Evaluated by rule-engine over the firm frame, after the aggregates (see `firm_steps`)."""
    employee_regions: tuple[_python.Region, ...] = ()
    """Evaluated by rule-engine over the employee frame, before the aggregates."""
    firm_columns: tuple[str, ...] = ()
    """Firm columns a comprehension over employees reads: joined onto each employee."""
    derived: tuple[tuple[str, pl.Expr], ...] = ()
    """Firm columns computed from native values and regions (see `_translate.derive`)."""
    firm_steps: tuple[str, ...] = ()
    """The names of `regions` and `derived` in the one order the firm frame computes them."""


def _to_fen(value: object) -> Decimal:
    """An amount as the reference rounds it (raises where the reference does)."""
    if type(value) is not Decimal:
        raise TypeError(f"the amount is {type(value).__name__}, not a number")
    return round_amount(value, None)


def _rounded_exactly(node: object, scope: Scope, amount: Term, to_fen: Any) -> Term:
    try:
        amount, near = _approx.near_half_fen(amount)
    except NeedsPython:
        return region(node, scope, to_fen)
    fen = amount.value.round(2, mode="half_away_from_zero").cast(num_dtype(2))
    rounded = Term(Kind.NUM, fen, amount.error, True, amount.sig, digits=amount.digits, scale=2)
    return exactly(node, scope, rounded, near, to_fen)


def _parse(text: str, ctx: rule_engine.Context) -> object:
    try:
        return rule_engine.Rule(text, context=ctx).statement.expression
    except rule_engine.EngineError as exc:
        raise InvalidRule(f"the rule {text!r} is invalid: {exc.message}") from None
    except RULE_ERRORS as exc:  # rule-engine folds constants as it parses: d'9999-12-31' + t'P1D'
        raise InvalidRule(
            f"the rule {text!r} raises for every firm: {type(exc).__name__}: {exc}; "
            "keep dates within 0001-01-01 and 9999-12-31 and day counts within 999,999,999"
        ) from None


def _final_amount(amount: Term, cap: Decimal | None) -> pl.Expr:
    """Half-up to the fen (away from zero on ties, as ROUND_HALF_UP), then the cap."""
    value = rescale(amount, 2).value if amount.scale <= 2 else amount.value
    rounded = value.round(2, mode="half_away_from_zero").cast(num_dtype(2))
    if cap is None:
        return rounded
    capped = pl.lit(cap, dtype=num_dtype(2))
    return pl.when(rounded > capped).then(capped).otherwise(rounded)


def _eligible(eligibility: Term) -> pl.Expr:
    """The reference grants only when the eligibility is exactly True (not merely truthy)."""
    if eligibility.kind is not Kind.BOOL:
        return pl.lit(False)
    return eligibility.value.fill_null(False) if eligibility.nullable else eligibility.value


def _amount(amount: Term, cap: Decimal | None) -> tuple[pl.Expr, pl.Expr]:
    """(error, final amount): anything but a number, null included, is an error."""
    if amount.kind is not Kind.NUM:
        return pl.lit(True), pl.lit(None, dtype=num_dtype(2))
    error = error_or_false(amount)
    if amount.nullable:
        error = error | amount.value.is_null()
    if amount.digits > _AMOUNT_DIGITS:  # rounding to the fen fails in rule-engine beyond
        limit = pl.lit(Decimal(10) ** _AMOUNT_DIGITS, dtype=num_dtype(max(amount.scale, 2)))
        rounded = rescale(amount, 2).value.round(2, mode="half_away_from_zero")
        error = error | (rounded.abs() >= limit).fill_null(False)
    return error, _final_amount(amount, cap)


def compile_policy(
    eligibility: str,
    amount: str,
    cap: Decimal | None,
    parameters: Mapping[str, ParameterValue],
    as_of: dt.date,
    catalog: Catalog = BUILTIN,
) -> CompiledPolicy:
    """Compile both rules over frames holding every column of `catalog` (`RegistryFrames`);
    raises UnsupportedRule naming the first construct it cannot."""
    if cap is not None and cap != cap.quantize(Decimal("0.01")):
        raise UnsupportedRule(f"the compiler cannot compile a cap with more than 2 decimals: {cap}")
    ctx = context(parameters, as_of, catalog)
    scope = Scope(parameters, as_of, catalog=catalog)
    elig_node, amount_node = _parse(eligibility, ctx), _parse(amount, ctx)
    elig = compile_node(elig_node, scope)
    if elig.pending:  # granted only on exactly True, whatever the value
        elig = region(elig_node, scope, (Kind.BOOL, pl.Boolean(), _python.is_true))
    amt = compile_node(amount_node, scope)
    to_fen = (Kind.NUM, num_dtype(2), _to_fen)
    if amt.pending:  # rounded to the fen as the reference rounds it
        amt = region(amount_node, scope, to_fen)
    elif amt.approx is not None:  # exact but where a half-fen sits within the approximation
        amt = _rounded_exactly(amount_node, scope, amt, to_fen)
    eligible = _eligible(elig)
    amount_error, final = _amount(amt, cap)
    row = pl.col("uscc").is_not_null()  # per row: constant rules must broadcast
    error = row & (error_or_false(elig) | (eligible & amount_error))
    qualifies = row & error.not_() & eligible & (final > 0).fill_null(False)
    money = pl.when(qualifies).then(final).otherwise(None).cast(AMOUNT_DTYPE)
    found = scope.found
    return CompiledPolicy(
        qualifies,
        money,
        error,
        tuple(found.aggregates.values()),
        tuple(found.regions.values()),
        tuple(found.employee_regions.values()),
        tuple(sorted(found.firm_columns)),
        tuple(found.derived.items()),
        tuple(found.firm_steps),
    )


def check_compilable(
    eligibility: str,
    amount: str,
    parameters: Mapping[str, ParameterValue],
    catalog: Catalog = BUILTIN,
) -> list[str]:
    """Why the compiler refuses a policy's rules (invalid or unsupported); empty if it compiles."""
    try:
        compile_policy(eligibility, amount, None, parameters, dt.date(2020, 1, 1), catalog)
    except MatchingError as exc:
        return [str(exc)]
    return []


def prepare(
    enterprises: pl.DataFrame, employees: pl.DataFrame, policies: Sequence[CompiledPolicy]
) -> pl.DataFrame:
    """The firm frame with every employee aggregate and region the policies need, each computed
    once: employee regions, then the aggregates over them, then the firm regions and decided
    columns in the order they were found."""
    staff = {r.name: r for p in policies for r in p.employee_regions}
    unique = {a.name: a for p in policies for a in p.aggregates}
    regions = {r.name: r for p in policies for r in p.regions}
    columns = sorted({c for p in policies for c in p.firm_columns})
    if columns:
        firm = enterprises.select("uscc", *(pl.col(c).alias(FIRM_PREFIX + c) for c in columns))
        employees = employees.join(firm, on="uscc", how="left", maintain_order="left")
    employees = _python.attach(employees, list(staff.values()))
    firms = attach(enterprises, employees, list(unique.values()))
    derived = {name: expr for p in policies for name, expr in p.derived}
    # Each policy's steps in its own order (a name is the same computation in every policy).
    for name in (name for p in policies for name in p.firm_steps):
        if name in firms.columns:
            continue
        if name in regions:
            firms = _python.attach(firms, [regions[name]])
        else:
            firms = firms.with_columns(derived[name].alias(name))
    return firms


def evaluate(firms: pl.DataFrame, policy: CompiledPolicy) -> pl.DataFrame:
    """uscc, qualifies, amount (Decimal(38, 2), null unless qualifying), error per firm."""
    return firms.select(
        pl.col("uscc"),
        policy.qualifies.alias("qualifies"),
        policy.amount.alias("amount"),
        policy.error.alias("error"),
    )
