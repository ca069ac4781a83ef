"""Comprehensions over `employees` as group-by aggregations of the employee table.

`[R for e in employees if C]` is evaluated by the reference for every employee: C on each, R on
those where C holds, and any error on any of them raises for the firm. The aggregate computes the
same per uscc: the selected rows, the function of R over them, and whether any row raised (or the
function itself raises: `$sum`/`$min`/`$max` of a null, `$min`/`$max` of nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from matching._terms import Term, any_error, column_name, num_dtype, truthy, when_error

FUNCTIONS = ("count", "sum", "min", "max", "any", "all")


@dataclass(frozen=True)
class Aggregate:
    """One aggregate over a firm's employees; `name` is derived from its canonical form."""

    function: str
    result: Term
    condition: Term | None

    @property
    def key(self) -> str:
        cond = self.condition.sig if self.condition is not None else "-"
        return f"{self.function}({self.result.sig} if {cond})"

    @property
    def name(self) -> str:
        return column_name("__agg_", self.key)

    @property
    def error_name(self) -> str:
        return self.name + "_err"

    def _selected(self) -> pl.Expr:
        every = pl.col("uscc").is_not_null()  # per row: a bare literal would not broadcast
        return every if self.condition is None else every & truthy(self.condition)

    def row_error(self) -> pl.Expr | None:
        cond_err = None if self.condition is None else self.condition.error
        return any_error(cond_err, when_error(self._selected(), self.result.error))

    def function_error(self) -> pl.Expr | None:
        """Where the function itself raises on the selected values."""
        sel = self._selected()
        if self.function in ("sum", "min", "max") and self.result.nullable:
            nulls: pl.Expr | None = (sel & self.result.value.is_null()).any()
        else:
            nulls = None
        if self.function in ("min", "max"):
            return any_error(nulls, sel.not_().all())
        return nulls

    def value(self) -> pl.Expr:
        sel = self._selected()
        r = self.result
        match self.function:
            case "count":
                return sel.cast(pl.Int64).sum().cast(num_dtype(0))
            case "sum":
                return pl.when(sel).then(r.value).sum().cast(num_dtype(r.scale))
            case "min":
                return pl.when(sel).then(r.value).min()
            case "max":
                return pl.when(sel).then(r.value).max()
            case "any":
                return (sel & truthy(r)).any()
            case "all":
                return (sel.not_() | truthy(r)).all()
        raise AssertionError(self.function)

    def can_error(self) -> bool:
        return self.row_error() is not None or self.function_error() is not None

    def exprs(self) -> list[pl.Expr]:
        """The group_by aggregations: the value and, if it can raise, the error flag."""
        out = [self.value().alias(self.name)]
        row = self.row_error()
        err = any_error(None if row is None else row.any(), self.function_error())
        if err is not None:
            out.append(err.alias(self.error_name))
        return out

    def empty_value(self) -> pl.Expr:
        """The value for a firm without employees, as rule-engine gives it for an empty list."""
        match self.function:
            case "count":
                return pl.lit(0, dtype=num_dtype(0))
            case "sum":
                return pl.lit(0, dtype=num_dtype(self.result.scale))
            case "any":
                return pl.lit(False)
            case "all":
                return pl.lit(True)
        return pl.lit(None)

    def empty_error(self) -> bool:
        return self.function in ("min", "max")


def attach(
    firms: pl.DataFrame, employees: pl.DataFrame, aggregates: list[Aggregate]
) -> pl.DataFrame:
    """The firm frame with every aggregate's columns, firms without employees filled."""
    if not aggregates:
        return firms
    grouped = employees.group_by("uscc").agg([e for a in aggregates for e in a.exprs()])
    present = pl.col("__has_employees").is_not_null()
    grouped = grouped.with_columns(pl.lit(True).alias("__has_employees"))
    joined = firms.join(grouped, on="uscc", how="left")
    fills: list[pl.Expr] = []
    for a in aggregates:
        empty = a.empty_value()
        fills.append(pl.when(present).then(pl.col(a.name)).otherwise(empty).alias(a.name))
        if a.can_error():
            err = pl.col(a.error_name).fill_null(a.empty_error())
            fills.append(pl.when(present).then(err).otherwise(a.empty_error()).alias(a.error_name))
    return joined.with_columns(fills).drop("__has_employees")
