"""Sub-expressions polars cannot reproduce exactly, evaluated by rule-engine itself.

The compiler translates to polars what polars computes exactly (`+ - *` within 28 significant
digits, comparisons, a plain regex, ...). Everything else rule-engine offers — a quotient rounded
to 28 significant digits, `//`, `%`, `**`, a regex that Python and Rust read differently, a text
method — is a *region*: a rule-engine sub-tree whose leaves ("slots") are compiled terms
(registry columns, employee aggregates, other regions). A region is evaluated by rule-engine's own
AST, once per distinct tuple of its slots' values across the whole frame, and joined back as a
column: exact by construction, and still one vectorised pass; the Python work grows with the
number of distinct inputs, not with the number of firms.

A slot carries its term's error flag too, and raises inside the region when it is set, so the
region raises exactly when rule-engine would reach the failing operand (`and`, `or`, `??` and the
ternary short-circuit as they do in rule-engine).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
from rule_engine import ast

from policies.language import RULE_ERRORS, rule_value

Convert = Callable[[Any], Any]
"""A region's Python result -> the value stored in its column (may raise a rule error)."""


class SlotRaised(Exception):
    """A slot's own term raised for this input: the region raises where rule-engine would."""


class Slot(ast.ExpressionBase):  # type: ignore[misc]  # rule-engine's AST is untyped
    """A leaf of a region: the value (and error flag) of a compiled term, read from the tuple."""

    def __init__(self, context: Any, index: int) -> None:
        self.context = context
        self.index = index

    def evaluate(self, thing: Any) -> Any:
        value, failed = thing[self.index]
        if failed:
            raise SlotRaised
        return value

    def reduce(self) -> ast.ExpressionBase:
        return self


_RAISED: tuple[type[Exception], ...] = (SlotRaised, *RULE_ERRORS)


def children(node: Any) -> list[tuple[str, Any]]:
    """The child expressions of a rule-engine node, as (attribute, child or tuple of children)."""
    match node:
        case ast.ComprehensionExpression():
            out = [("iterable", node.iterable), ("result", node.result)]
            return out + ([("condition", node.condition)] if node.condition is not None else [])
        case ast.TernaryExpression():
            return [(n, getattr(node, n)) for n in ("condition", "case_true", "case_false")]
        case ast.UnaryExpression():
            return [("right", node.right)]
        case ast.ContainsExpression():
            return [("container", node.container), ("member", node.member)]
        case ast.GetAttributeExpression():
            return [("object", node.object)]
        case ast.GetItemExpression():
            return [("container", node.container), ("item", node.item)]
        case ast.GetSliceExpression():
            return [(n, getattr(node, n)) for n in ("container", "start", "stop")]
        case ast.FunctionCallExpression():
            return [("function", node.function), ("arguments", tuple(node.arguments))]
        case ast.ArrayExpression() | ast.SetExpression():
            return [("value", tuple(node.value))]
        case ast.MappingExpression():
            return [("value", tuple(node.value))]
    if hasattr(node, "left") and hasattr(node, "right"):
        return [("left", node.left), ("right", node.right)]
    return []


def rebuild(node: Any, replace: Callable[[Any], Any | None]) -> Any:
    """A copy of `node` with every sub-tree `replace` maps to a node substituted by that node."""
    replacement = replace(node)
    if replacement is not None:
        return replacement
    kids = children(node)
    if not kids:
        return node
    clone = copy.copy(node)
    for attribute, child in kids:
        if isinstance(child, tuple):
            setattr(clone, attribute, tuple(_rebuild_member(c, replace) for c in child))
        else:
            setattr(clone, attribute, rebuild(child, replace))
    if hasattr(clone, "_evaluator"):  # operators bind their method at construction
        clone._evaluator = getattr(clone, "_op_" + clone.type)
    return clone


def _rebuild_member(member: Any, replace: Callable[[Any], Any | None]) -> Any:
    if isinstance(member, tuple):  # a mapping's (key, value) pair
        return tuple(rebuild(m, replace) for m in member)
    return rebuild(member, replace)


def slot_value(value: Any) -> Any:
    """A polars value as rule-engine sees it (dates at midnight UTC, day counts as timedeltas)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return dt.timedelta(days=value)  # only day counts reach a slot as integers
    return rule_value(value)


@dataclass(frozen=True)
class Region:
    """A rule-engine sub-tree evaluated once per distinct tuple of its slots' values."""

    node: Any
    """The rebuilt sub-tree: its leaves that read the frame are `Slot`s."""
    slots: tuple[tuple[pl.Expr, pl.Expr | None], ...]
    """Each slot's polars value and error flag (None when it cannot raise)."""
    key: str
    """The sub-tree's canonical form with its slots' signatures: equal keys, equal columns."""
    dtype: pl.DataType
    convert: Convert

    @property
    def name(self) -> str:
        return "__py_" + hashlib.blake2b(self.key.encode(), digest_size=8).hexdigest()

    @property
    def error_name(self) -> str:
        return self.name + "_err"

    def evaluate(self, values: Sequence[Any]) -> tuple[Any, bool]:
        """(stored value, raised) for one tuple of slot values and error flags."""
        thing = [(slot_value(v), bool(f)) for v, f in zip(values[0::2], values[1::2], strict=True)]
        try:
            return self.convert(self.node.evaluate(thing)), False
        except _RAISED:
            return None, True

    def columns(self, frame: pl.DataFrame) -> list[pl.Series]:
        """The region's value and error columns over `frame`, in its row order."""
        names = [f"s{i}" for i in range(len(self.slots))]
        inputs = []
        for name, (value, error) in zip(names, self.slots, strict=True):
            failed = pl.lit(False) if error is None else error.fill_null(False)
            inputs.append(pl.when(failed).then(None).otherwise(value).alias(name))
            inputs.append(failed.alias(name + "_f"))
        if not inputs:
            value, raised = self.evaluate(())
            n = frame.height
            return [
                pl.Series(self.name, [value] * n, dtype=self.dtype),
                pl.Series(self.error_name, [raised] * n, dtype=pl.Boolean),
            ]
        tuples = frame.select(inputs)
        distinct = tuples.unique()
        results = [self.evaluate(row) for row in distinct.iter_rows()]
        distinct = distinct.with_columns(
            pl.Series(self.name, [r[0] for r in results], dtype=self.dtype),
            pl.Series(self.error_name, [r[1] for r in results], dtype=pl.Boolean),
        )
        joined = tuples.join(
            distinct, on=tuples.columns, how="left", nulls_equal=True, maintain_order="left"
        )
        return [joined[self.name], joined[self.error_name]]


def attach(frame: pl.DataFrame, regions: Sequence[Region]) -> pl.DataFrame:
    """The frame with every region's columns; a region may read columns of earlier ones."""
    for region in regions:
        if region.name not in frame.columns:
            frame = frame.with_columns(region.columns(frame))
    return frame


def as_bool(value: Any) -> Any:
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"expected a flag, got {type(value).__name__}")
    return value


def as_text(value: Any) -> Any:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return value


def is_true(value: Any) -> bool:
    """The eligibility grants only on exactly True."""
    return value is True


def as_decimal(value: Any) -> Decimal:
    if not isinstance(value, Decimal):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return value
