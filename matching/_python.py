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
import operator
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
import rule_engine
from rule_engine import ast

from matching._terms import column_name
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
        if thing[2 * self.index + 1]:
            raise SlotRaised
        return thing[2 * self.index]

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


def child_nodes(node: Any) -> Iterator[tuple[str, Any]]:
    """Every child expression of a node, flat: a tuple's members and a mapping's pairs too."""
    for attribute, child in children(node):
        for member in child if isinstance(child, tuple) else (child,):
            for sub in member if isinstance(member, tuple) else (member,):
                yield attribute, sub


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


def _days(value: Any) -> Any:
    return None if value is None else dt.timedelta(days=value)


SLOT_VALUES: dict[str, Callable[[Any], Any] | None] = {
    "date": rule_value,  # midnight UTC, as the reference's firm record holds it
    "timedelta": _days,
}
"""How a slot's polars value becomes what rule-engine sees, by the term's kind (None: as is)."""


# ---------------------------------------------------------------------------- fast evaluation
#
# rule-engine's AST spends most of a region's time in its own dispatch. The node types on a
# policy's hot paths (arithmetic and comparisons of numbers) are evaluated here by closures that
# run rule-engine's own steps for Decimal operands (the same operator, the same errors) and hand
# every other operand type back to the node itself; any other node is evaluated by rule-engine.

Evaluator = Callable[[Sequence[Any]], Any]

_ARITHMETIC = {
    "mul": operator.mul,
    "tdiv": operator.truediv,
    "fdiv": operator.floordiv,
    "mod": operator.mod,
    "pow": operator.pow,
}
_ORDERED = {"ge": operator.ge, "gt": operator.gt, "le": operator.le, "lt": operator.lt}


def evaluator(node: Any) -> Evaluator:
    """A callable evaluating `node` on a slot tuple exactly as `node.evaluate` does."""
    match node:
        case Slot():
            index = node.index

            def slot(thing: Sequence[Any]) -> Any:
                if thing[2 * index + 1]:
                    raise SlotRaised
                return thing[2 * index]

            return slot
        case ast.ArithmeticExpression() if node.type in _ARITHMETIC:
            return _arithmetic(node, _ARITHMETIC[node.type])
        case ast.AddExpression() | ast.SubtractExpression():
            return _additive(node, operator.add if node.type == "add" else operator.sub)
        case ast.ArithmeticComparisonExpression() if node.type in _ORDERED:
            return _ordered(node, _ORDERED[node.type])
        case ast.FuzzyComparisonExpression() if isinstance(node.right, ast.StringExpression):
            return _fuzzy(node)
    if isinstance(node, ast.LiteralExpressionBase) and not children(node):
        value = node.value
        return lambda thing: value
    return node.evaluate  # type: ignore[no-any-return]


def _arithmetic(node: Any, op: Callable[[Any, Any], Any]) -> Evaluator:
    left, right = evaluator(node.left), evaluator(node.right)

    def arithmetic(thing: Sequence[Any]) -> Any:
        a = left(thing)
        if type(a) is not Decimal:
            return node.evaluate(thing)
        b = right(thing)
        if type(b) is not Decimal:
            return node.evaluate(thing)
        try:
            return op(a, b)
        except ZeroDivisionError:
            raise rule_engine.errors.ArithmeticError("arithmetic error: division by zero") from None
        except ArithmeticError:
            raise rule_engine.errors.ArithmeticError("arithmetic error") from None

    return arithmetic


def _additive(node: Any, op: Callable[[Any, Any], Any]) -> Evaluator:
    left, right = evaluator(node.left), evaluator(node.right)

    def additive(thing: Sequence[Any]) -> Any:
        a, b = left(thing), right(thing)
        if type(a) is Decimal and type(b) is Decimal:
            return op(a, b)
        return node.evaluate(thing)

    return additive


def _fuzzy(node: Any) -> Evaluator:
    """`=~ =~~ !~ !~~` against a literal pattern, as rule-engine's `__op_regex` (which also keeps
    the match's groups for `$re_groups`, a builtin the compiler refuses)."""
    left = evaluator(node.left)
    find = getattr(node._right, "match" if node.type.endswith("fzm") else "search")
    positive = node.type.startswith("eq")

    def fuzzy(thing: Sequence[Any]) -> Any:
        text = left(thing)
        if text is None:
            return not positive
        if not isinstance(text, str):
            raise rule_engine.errors.EvaluationError("data type mismatch")
        return (find(text) is not None) is positive

    return fuzzy


def _ordered(node: Any, op: Callable[[Any, Any], Any]) -> Evaluator:
    left, right = evaluator(node.left), evaluator(node.right)
    values = node._ArithmeticComparisonExpression__op_arithmetic_values  # rule-engine's own step

    def ordered(thing: Sequence[Any]) -> Any:
        return values(op, left(thing), right(thing))

    return ordered


@dataclass(frozen=True)
class Region:
    """A rule-engine sub-tree evaluated once per distinct tuple of its slots' values."""

    node: Any
    """The rebuilt sub-tree: its leaves that read the frame are `Slot`s."""
    slots: tuple[tuple[pl.Expr, pl.Expr | None, str], ...]
    """Each slot's polars value, error flag (None when it cannot raise) and kind."""
    key: str
    """The sub-tree's canonical form with its slots' signatures: equal keys, equal columns."""
    dtype: pl.DataType
    convert: Convert
    where: pl.Expr | None = None
    """Only the rows where this holds need the region (the rest are decided natively); the
    others get the result of their tuple if another row shares it, else null."""

    @property
    def name(self) -> str:
        return column_name("__py_", self.key)

    @property
    def error_name(self) -> str:
        return self.name + "_err"

    def evaluate_all(self, rows: Sequence[Sequence[Any]]) -> tuple[list[Any], list[bool]]:
        """(stored values, raised flags) for distinct tuples of slot values and error flags."""
        run = evaluator(self.node)
        convert = self.convert
        changes = [
            (2 * i, SLOT_VALUES[kind])
            for i, (*_, kind) in enumerate(self.slots)
            if SLOT_VALUES.get(kind)
        ]
        values: list[Any] = []
        raised: list[bool] = []
        for row in rows:
            if changes:
                row = list(row)
                for i, change in changes:
                    row[i] = change(row[i])  # type: ignore[misc]
            try:
                values.append(convert(run(row)))
                raised.append(False)
            except _RAISED:
                values.append(None)
                raised.append(True)
        return values, raised

    def columns(self, frame: pl.DataFrame) -> list[pl.Series]:
        """The region's value and error columns over `frame`, in its row order."""
        names = [f"s{i}" for i in range(len(self.slots))]
        inputs = []
        for name, (value, error, _) in zip(names, self.slots, strict=True):
            row = pl.col("uscc").is_not_null()  # per row: a constant slot must broadcast
            failed = row & (pl.lit(False) if error is None else error.fill_null(False))
            inputs.append(pl.when(failed).then(None).otherwise(value).alias(name))
            inputs.append(failed.alias(name + "_f"))
        if not inputs:
            (value,), (constant_raised,) = self.evaluate_all([()])
            n = frame.height
            return [
                pl.Series(self.name, [value] * n, dtype=self.dtype),
                pl.Series(self.error_name, [constant_raised] * n, dtype=pl.Boolean),
            ]
        # with_columns broadcasts a slot that is a literal (a parameter's length) to every row
        tuples = frame.with_columns(inputs).select([c for n in names for c in (n, n + "_f")])
        needed = (
            tuples if self.where is None else tuples.filter(frame.select(self.where).to_series())
        )
        distinct = needed.unique()
        rows = zip(*(distinct.to_series(i).to_list() for i in range(distinct.width)), strict=True)
        values, raised = self.evaluate_all(list(rows))
        distinct = distinct.with_columns(
            pl.Series(self.name, values, dtype=self.dtype),
            pl.Series(self.error_name, raised, dtype=pl.Boolean),
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
