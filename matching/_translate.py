"""rule-engine AST -> Terms (polars value + error flag), node class by node class.

Only constructs whose reference semantics are reproduced exactly are translated; anything else
raises UnsupportedRule naming the construct. The firm scope reads enterprise columns and
aggregates; inside a comprehension the employee scope reads the variable's attributes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import polars as pl
from rule_engine import ast

from matching._aggregates import Aggregate
from matching._regex import translate as translate_regex
from matching._terms import (
    Kind,
    Term,
    any_error,
    checked,
    null_error,
    num_dtype,
    number_literal,
    rescale,
    truthy,
    when_error,
)
from matching.errors import UnsupportedRule
from subsidy.registry.schema import EMPLOYEES, ENTERPRISES, Table
from subsidy.registry.schema import Kind as ColumnKind

_MONEY_DIGITS = 14
_COUNT_DIGITS = 10
_DAY_DIGITS = 8
_SUM_EXTRA_DIGITS = 7
"""A sum over a firm's employees is bounded assuming fewer than 10 million employees a firm."""
_DATE_PARTS = {"year": 4, "month": 2, "day": 2}


@dataclass
class Scope:
    parameters: Mapping[str, Any]
    as_of: dt.date
    variable: str | None = None
    aggregates: dict[str, Aggregate] = field(default_factory=dict)


def unsupported(construct: str) -> UnsupportedRule:
    return UnsupportedRule(f"the compiler cannot compile {construct}")


_REFUSED = {
    "GetItemExpression": "indexing `x[i]`",
    "CoalesceExpression": "null coalescing `??`",
    "BitwiseExpression": "bitwise operators",
    "BitwiseShiftExpression": "bit shifts",
    "ComprehensionExpression": "a comprehension outside `.length`, $sum, $min, $max, $any, $all",
    "ArrayExpression": "a list outside `in`, $sum, $min, $max, $any, $all",
    "MappingExpression": "mappings",
    "SetExpression": "sets",
    "BytesExpression": "bytes",
}


def compile_node(node: Any, scope: Scope) -> Term:
    handler = _HANDLERS.get(type(node))
    if handler is None:
        name = type(node).__name__
        raise unsupported(_REFUSED.get(name, f"the expression {name}"))
    return handler(node, scope)


# ---------------------------------------------------------------------------- constants


def constant(value: Any, sig: str) -> Term:
    if isinstance(value, bool):
        return Term(Kind.BOOL, pl.lit(value), None, False, sig, const=value)
    if isinstance(value, Decimal):
        return number_literal(value, sig)
    if isinstance(value, dt.datetime):
        if value.utcoffset() or value.time() != dt.time(0):
            raise unsupported(f"the datetime {value.isoformat()} (only midnight UTC dates)")
        return constant(value.date(), sig)
    if isinstance(value, dt.date):
        return Term(Kind.DATE, pl.lit(value, dtype=pl.Date), None, False, sig, const=value)
    if isinstance(value, str):
        return Term(Kind.STR, pl.lit(value, dtype=pl.String), None, False, sig, const=value)
    if isinstance(value, dt.timedelta):
        if value % dt.timedelta(days=1):
            raise unsupported(f"the timedelta {value} (only whole days)")
        return Term(
            Kind.DAYS,
            pl.lit(value.days, dtype=pl.Int64),
            None,
            False,
            sig,
            digits=_DAY_DIGITS,
            const=value,
        )
    raise unsupported(f"the value {value!r}")


def _literal(node: Any, scope: Scope) -> Term:
    if isinstance(node, ast.NullExpression):
        return Term(Kind.NULL, pl.lit(None), None, True, "null")
    return constant(node.value, f"lit({node.value!r})")


# ---------------------------------------------------------------------------- symbols


def _column(table: Table, name: str, sig: str) -> Term:
    col = table.column(name)
    expr = pl.col(name)
    match col.kind:
        case ColumnKind.BOOL:
            return Term(Kind.BOOL, expr, None, col.nullable, sig)
        case ColumnKind.DATE:
            return Term(Kind.DATE, expr, None, col.nullable, sig)
        case ColumnKind.MONEY:
            return Term(
                Kind.NUM,
                expr.cast(num_dtype(2)),
                None,
                col.nullable,
                sig,
                digits=_MONEY_DIGITS,
                scale=2,
            )
    return Term(Kind.STR, expr, None, col.nullable, sig)


def _symbol(node: Any, scope: Scope) -> Term:
    name = node.name
    if getattr(node, "scope", None) == "built-in":
        if name in ("today", "now"):
            return constant(scope.as_of, f"lit({scope.as_of!r})")  # the date: keys shared runs
        raise unsupported(f"the builtin ${name}")
    if scope.variable is not None and name == scope.variable:
        return Term(Kind.RECORD, pl.lit(True), None, False, f"var({name})")
    if name in scope.parameters:
        return constant(scope.parameters[name], f"lit({scope.parameters[name]!r})")
    if name == "employees":
        raise unsupported("`employees` outside a comprehension or `.length`")
    if name in ENTERPRISES.names:
        if scope.variable is not None:
            raise unsupported(f"the firm column {name} inside a comprehension over employees")
        return _column(ENTERPRISES, name, f"firm.{name}")
    raise unsupported(f"the unknown symbol {name}")


# ---------------------------------------------------------------------------- attributes


def _attribute(node: Any, scope: Scope) -> Term:
    obj, name = node.object, node.name
    if getattr(node, "safe", False):
        raise unsupported("safe navigation '&.'")
    if isinstance(obj, ast.SymbolExpression) and obj.name == scope.variable:
        if name not in EMPLOYEES.names or name == "uscc":
            raise unsupported(f"the employee attribute {name}")
        return _column(EMPLOYEES, name, f"emp.{name}")
    if name == "length" and _is_employees(obj):
        if scope.variable is not None:
            raise unsupported("`employees` inside a comprehension over employees")
        return _aggregate("count", _record(scope), None, scope)
    if name == "length" and isinstance(obj, ast.ComprehensionExpression):
        return _comprehension("count", obj, scope)
    target = compile_node(obj, scope)
    return _value_attribute(target, name)


def _value_attribute(target: Term, name: str) -> Term:
    err = any_error(target.error, null_error(target))
    sig = f"{target.sig}.{name}"
    v = target.value
    if target.kind is Kind.STR and name == "length":
        value = v.str.len_chars().cast(num_dtype(0))
        return Term(Kind.NUM, value, err, target.nullable, sig, digits=_COUNT_DIGITS)
    if target.kind is Kind.DATE and name in _DATE_PARTS:
        part = getattr(v.dt, name)().cast(num_dtype(0))
        return Term(Kind.NUM, part, err, target.nullable, sig, digits=_DATE_PARTS[name])
    if target.kind is Kind.DATE and name == "date":
        return replace(target, error=err, sig=sig)
    if target.kind is Kind.DAYS and name == "days":
        return Term(Kind.NUM, v.cast(num_dtype(0)), err, target.nullable, sig, digits=_DAY_DIGITS)
    raise unsupported(f"the attribute .{name} of a {target.kind.value}")


def _is_employees(node: Any) -> bool:
    return isinstance(node, ast.SymbolExpression) and node.name == "employees"


def _record(scope: Scope) -> Term:
    return Term(Kind.RECORD, pl.lit(True), None, False, "var")


# ---------------------------------------------------------------------------- comprehensions


def _comprehension(function: str, node: Any, scope: Scope) -> Term:
    if scope.variable is not None:
        raise unsupported("a comprehension inside a comprehension")
    if not _is_employees(node.iterable):
        raise unsupported("a comprehension over anything but `employees`")
    inner = Scope(scope.parameters, scope.as_of, variable=node.variable)
    result = compile_node(node.result, inner)
    result = replace(result, sig=result.sig.replace(f"var({node.variable})", "var"))
    cond = None if node.condition is None else compile_node(node.condition, inner)
    if function in ("sum", "min", "max") and result.kind is not Kind.NUM:
        raise unsupported(f"${function} of a list of {result.kind.value} values")
    if result.kind is Kind.RECORD and function in ("any", "all"):
        raise unsupported(f"${function} of employee records")
    return _aggregate(function, result, cond, scope)


def _aggregate(function: str, result: Term, cond: Term | None, scope: Scope) -> Term:
    agg = Aggregate(function, result, cond)
    scope.aggregates.setdefault(agg.name, agg)
    error = pl.col(agg.error_name) if agg.can_error() else None
    sig = f"agg:{agg.key}"
    if function in ("any", "all"):
        return Term(Kind.BOOL, pl.col(agg.name), error, False, sig)
    if function == "count":
        return Term(Kind.NUM, pl.col(agg.name), error, False, sig, digits=_COUNT_DIGITS)
    digits = result.digits + (_SUM_EXTRA_DIGITS if function == "sum" else 0)
    term = Term(Kind.NUM, pl.col(agg.name), error, False, sig, digits=digits, scale=result.scale)
    return checked(term, f"${function} over employees")


# ---------------------------------------------------------------------------- arithmetic


def _common_scale(a: Term, b: Term) -> tuple[Term, Term]:
    scale = max(a.scale, b.scale)
    return rescale(a, scale), rescale(b, scale)


def _arith_error(a: Term, b: Term) -> pl.Expr | None:
    return any_error(a.error, b.error, null_error(a, b))


def _add_sub(node: Any, scope: Scope) -> Term:
    a, b = compile_node(node.left, scope), compile_node(node.right, scope)
    op = node.type
    sig = f"({a.sig} {op} {b.sig})"
    err = _arith_error(a, b)
    kinds = (a.kind, b.kind)
    if kinds == (Kind.NUM, Kind.NUM):
        a, b = _common_scale(a, b)
        value = a.value + b.value if op == "add" else a.value - b.value
        term = Term(
            Kind.NUM,
            value,
            err,
            a.nullable or b.nullable,
            sig,
            digits=max(a.digits, b.digits) + 1,
            scale=a.scale,
        )
        return checked(term, "this addition or subtraction")
    if kinds == (Kind.DATE, Kind.DATE) and op == "sub":
        between = (a.value - b.value).dt.total_days()
        return Term(Kind.DAYS, between, err, a.nullable or b.nullable, sig, digits=_DAY_DIGITS)
    if kinds == (Kind.DAYS, Kind.DAYS):
        value = a.value + b.value if op == "add" else a.value - b.value
        return Term(Kind.DAYS, value, err, a.nullable or b.nullable, sig, digits=_DAY_DIGITS)
    if kinds in ((Kind.DATE, Kind.DAYS), (Kind.DAYS, Kind.DATE)) and (
        op == "add" or a.kind is Kind.DATE
    ):
        date, days = (a, b) if a.kind is Kind.DATE else (b, a)
        delta = pl.duration(days=days.value if op == "add" else -days.value)
        return Term(Kind.DATE, date.value + delta, err, a.nullable or b.nullable, sig)
    symbol = "+" if op == "add" else "-"
    raise unsupported(f"'{symbol}' of a {a.kind.value} and a {b.kind.value}")


def _exact_inverse(divisor: Decimal) -> Decimal | None:
    """1/divisor when it is a terminating decimal (divisor = 2^a 5^b 10^k), else None."""
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        ctx.traps[decimal.Inexact] = True
        try:
            return (Decimal(1) / divisor).normalize()
        except decimal.Inexact:
            return None


def _arithmetic(node: Any, scope: Scope) -> Term:
    a, b = compile_node(node.left, scope), compile_node(node.right, scope)
    if a.kind is not Kind.NUM or b.kind is not Kind.NUM:
        raise unsupported(f"'{node.type}' of a {a.kind.value} and a {b.kind.value}")
    if node.type == "tdiv":
        b = _divisor(b)
    elif node.type != "mul":
        raise unsupported(f"the operator '{node.type}' (only + - * and / by a constant)")
    scale = a.scale + b.scale
    value = a.value.cast(num_dtype(scale)) * b.value
    sig = f"({a.sig} {node.type} {b.sig})"
    term = Term(
        Kind.NUM,
        value,
        _arith_error(a, b),
        a.nullable or b.nullable,
        sig,
        digits=a.digits + b.digits,
        scale=scale,
    )
    return checked(term, "this multiplication or division")


def _divisor(b: Term) -> Term:
    """x / c is x * (1/c) exactly when 1/c terminates; other divisions are refused."""
    if not isinstance(b.const, Decimal):
        raise unsupported("division by a non-constant value")
    if b.const == 0:
        raise unsupported("division by zero")
    inverse = _exact_inverse(b.const)
    if inverse is None:
        raise unsupported(
            f"division by {b.const} (its quotients do not terminate; only divisors of the form "
            "2^a·5^b are exact)"
        )
    return number_literal(inverse)


def _unary(node: Any, scope: Scope) -> Term:
    a = compile_node(node.right, scope)
    if node.type == "not":
        return Term(Kind.BOOL, truthy(a).not_(), a.error, False, f"not {a.sig}")
    if a.kind not in (Kind.NUM, Kind.DAYS):
        raise unsupported(f"unary minus of a {a.kind.value}")
    return replace(
        a, value=-a.value, error=any_error(a.error, null_error(a)), sig=f"-{a.sig}", const=None
    )


# ---------------------------------------------------------------------------- comparisons


def _pair(node: Any, scope: Scope) -> tuple[Term, Term]:
    a, b = compile_node(node.left, scope), compile_node(node.right, scope)
    if a.kind is Kind.NUM and b.kind is Kind.NUM:
        a, b = _common_scale(a, b)
    return a, b


def _equality(node: Any, scope: Scope) -> Term:
    a, b = _pair(node, scope)
    err = any_error(a.error, b.error)
    sig = f"({a.sig} {node.type} {b.sig})"
    value = _equal(a, b)
    return Term(Kind.BOOL, value if node.type == "eq" else value.not_(), err, False, sig)


def _equal(a: Term, b: Term) -> pl.Expr:
    """rule-engine's ==: values of different types differ; null equals only null."""
    if a.kind is Kind.NULL or b.kind is Kind.NULL:
        other = b if a.kind is Kind.NULL else a
        return other.value.is_null() if other.nullable else pl.lit(a.kind is b.kind)
    if a.kind is not b.kind or Kind.RECORD in (a.kind, b.kind):
        raise unsupported(f"comparing a {a.kind.value} with a {b.kind.value}")
    if a.nullable or b.nullable:
        return a.value.eq_missing(b.value)
    return a.value == b.value


_ORDERED: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    "lt": lambda x, y: x < y,
    "le": lambda x, y: x <= y,
    "gt": lambda x, y: x > y,
    "ge": lambda x, y: x >= y,
}


def _ordered(node: Any, scope: Scope) -> Term:
    a, b = _pair(node, scope)
    if a.kind is not b.kind or a.kind in (Kind.NULL, Kind.RECORD):
        raise unsupported(f"ordering a {a.kind.value} and a {b.kind.value}")
    value = _ORDERED[node.type](a.value, b.value)
    err = any_error(a.error, b.error)
    if a.nullable and b.nullable:
        both = a.value.is_null() & b.value.is_null()
        value = pl.when(both).then(pl.lit(node.type in ("ge", "le"))).otherwise(value)
        err = any_error(err, a.value.is_null() != b.value.is_null())
    else:
        err = any_error(err, null_error(a, b))
    return Term(Kind.BOOL, value, err, False, f"({a.sig} {node.type} {b.sig})")


def _fuzzy(node: Any, scope: Scope) -> Term:
    a = compile_node(node.left, scope)
    if a.kind is not Kind.STR or not isinstance(node.right, ast.StringExpression):
        raise unsupported("regex matching against anything but a literal pattern on text")
    pattern = translate_regex(node.right.value, anchored=node.type.endswith("fzm"))
    negated = node.type.startswith("ne")
    found = a.value.str.contains(pattern)
    value = found.fill_null(False) if not negated else found.not_().fill_null(True)
    return Term(Kind.BOOL, value, a.error, False, f"({a.sig} {node.type} {pattern!r})")


def _comparison(node: Any, scope: Scope) -> Term:
    if isinstance(node, ast.FuzzyComparisonExpression):
        return _fuzzy(node, scope)
    if isinstance(node, ast.ArithmeticComparisonExpression):
        return _ordered(node, scope)
    if node.type in ("eq", "ne"):
        return _equality(node, scope)
    raise unsupported(f"the comparison '{node.type}'")


# ---------------------------------------------------------------------------- logic


def _logic(node: Any, scope: Scope) -> Term:
    """`and`/`or` evaluate the right side only when the left does not decide."""
    a, b = compile_node(node.left, scope), compile_node(node.right, scope)
    ta, tb = truthy(a), truthy(b)
    if node.type == "and":
        value, err = ta & tb, any_error(a.error, when_error(ta, b.error))
    elif node.type == "or":
        value, err = ta | tb, any_error(a.error, when_error(ta.not_(), b.error))
    else:
        raise unsupported(f"the logical operator '{node.type}'")
    return Term(Kind.BOOL, value, err, False, f"({a.sig} {node.type} {b.sig})")


def _ternary(node: Any, scope: Scope) -> Term:
    c = compile_node(node.condition, scope)
    t, f = compile_node(node.case_true, scope), compile_node(node.case_false, scope)
    t, f = _unify(t, f)
    cond = truthy(c)
    err = any_error(c.error, when_error(cond, t.error), when_error(cond.not_(), f.error))
    value = pl.when(cond).then(t.value).otherwise(f.value)
    sig = f"({c.sig} ? {t.sig} : {f.sig})"
    typed = f if t.kind is Kind.NULL else t
    nullable = t.nullable or f.nullable
    digits = max(t.digits, f.digits)
    return Term(typed.kind, value, err, nullable, sig, digits=digits, scale=typed.scale)


def _unify(t: Term, f: Term) -> tuple[Term, Term]:
    """Two branches of one kind (a null branch takes the other's kind), numbers at one scale."""
    if t.kind is Kind.NULL or f.kind is Kind.NULL:
        return t, f
    if t.kind is not f.kind or t.kind is Kind.RECORD:
        raise unsupported(f"a ternary with a {t.kind.value} and a {f.kind.value} branch")
    if t.kind is Kind.NUM:
        return _common_scale(t, f)
    return t, f


def _contains(node: Any, scope: Scope) -> Term:
    """`x in [literals]`: Python's `in` on a tuple, i.e. == against each element."""
    member = compile_node(node.member, scope)
    if not isinstance(node.container, ast.ArrayExpression):
        return _substring(member, compile_node(node.container, scope))
    elements = [compile_node(e, scope) for e in node.container.value]
    if any(not e.is_const and e.kind is not Kind.NULL for e in elements):
        raise unsupported("`in` over a list with non-constant elements")
    if member.kind in (Kind.NULL, Kind.RECORD):
        raise unsupported(f"`in` with a {member.kind.value} member")
    value: pl.Expr = pl.lit(False)
    for e in elements:
        if e.kind is not member.kind and e.kind is not Kind.NULL:
            raise unsupported(f"`in` of a {member.kind.value} in a list with a {e.kind.value}")
        left, right = _common_scale(member, e) if e.kind is Kind.NUM else (member, e)
        value = value | _equal(left, right).fill_null(False)
    sig = f"({member.sig} in [{', '.join(e.sig for e in elements)}])"
    return Term(Kind.BOOL, value, member.error, False, sig)


def _substring(member: Term, container: Term) -> Term:
    """`'I6' in industry`: a null member raises; a null container is refused, as the reference
    fails there with a TypeError rather than a rule error."""
    if member.kind is not Kind.STR or container.kind is not Kind.STR:
        raise unsupported(f"`in` over a {container.kind.value}")
    if container.nullable:
        raise unsupported("`in` over a text that may be null")
    value = container.value.str.contains(member.value, literal=True).fill_null(False)
    err = any_error(container.error, member.error, null_error(member))
    return Term(Kind.BOOL, value, err, False, f"({member.sig} in {container.sig})")


# ---------------------------------------------------------------------------- functions


def _call(node: Any, scope: Scope) -> Term:
    fn = node.function
    if not isinstance(fn, ast.SymbolExpression) or getattr(fn, "scope", None) != "built-in":
        raise unsupported("calling a non-builtin function")
    name = fn.name
    if name not in ("min", "max", "sum", "any", "all", "abs") or len(node.arguments) != 1:
        raise unsupported(f"the function ${name}")
    (arg,) = node.arguments
    if name == "abs":
        a = compile_node(arg, scope)
        if a.kind is not Kind.NUM:
            raise unsupported(f"$abs of a {a.kind.value}")
        err = any_error(a.error, null_error(a))
        return replace(a, value=a.value.abs(), error=err, sig=f"$abs({a.sig})", const=None)
    if isinstance(arg, ast.ComprehensionExpression):
        return _comprehension(name, arg, scope)
    if isinstance(arg, ast.ArrayExpression):
        return _list_function(name, [compile_node(e, scope) for e in arg.value])
    raise unsupported(f"${name} of anything but a literal list or a comprehension")


def _list_function(name: str, items: list[Term]) -> Term:
    sig = f"${name}([{', '.join(i.sig for i in items)}])"
    errors = any_error(*(i.error for i in items))
    if name in ("any", "all"):
        flags = [truthy(i) for i in items]
        if not flags:
            return Term(Kind.BOOL, pl.lit(name == "all"), errors, False, sig)
        combine = pl.any_horizontal if name == "any" else pl.all_horizontal
        return Term(Kind.BOOL, combine(flags), errors, False, sig)
    if any(i.kind is not Kind.NUM for i in items):
        raise unsupported(f"${name} of a list with non-numbers")
    scale = max((i.scale for i in items), default=0)
    digits = max((i.digits for i in items), default=0)
    values = [rescale(i, scale).value for i in items]
    err = any_error(errors, null_error(*items))
    if name == "sum":
        if not values:
            return number_literal(Decimal(0), sig)
        total = values[0]
        for v in values[1:]:
            total = total + v
        extra = math.ceil(math.log10(len(values))) if len(values) > 1 else 0
        term = Term(Kind.NUM, total, err, False, sig, digits=digits + extra, scale=scale)
        return checked(term, "this $sum")
    if not values:
        return Term(Kind.NUM, pl.lit(None, dtype=num_dtype(0)), pl.lit(True), True, sig)
    combine = pl.min_horizontal if name == "min" else pl.max_horizontal
    value = combine(values).cast(num_dtype(scale))
    return Term(Kind.NUM, value, err, False, sig, digits=digits, scale=scale)


def _slice_bound(node: Any, scope: Scope) -> int | None:
    bound = compile_node(node, scope)
    if bound.kind is Kind.NULL:
        return None
    value = bound.const
    if not isinstance(value, Decimal) or value != value.to_integral_value() or value < 0:
        raise unsupported("slicing `x[i:j]` with bounds other than whole numbers >= 0")
    return int(value)


def _slice(node: Any, scope: Scope) -> Term:
    """`text[i:j]` with constant bounds >= 0: Python's slice by code points."""
    target = compile_node(node.container, scope)
    if target.kind is not Kind.STR or getattr(node, "safe", False):
        raise unsupported(f"slicing a {target.kind.value}")
    start, stop = _slice_bound(node.start, scope) or 0, _slice_bound(node.stop, scope)
    length = None if stop is None else max(stop - start, 0)
    value = target.value.str.slice(start, length)
    err = any_error(target.error, null_error(target))
    sig = f"{target.sig}[{start}:{stop}]"
    return Term(Kind.STR, value, err, target.nullable, sig)


_HANDLERS: dict[type, Callable[[Any, Scope], Term]] = {
    ast.GetSliceExpression: _slice,
    ast.BooleanExpression: _literal,
    ast.FloatExpression: _literal,
    ast.StringExpression: _literal,
    ast.NullExpression: _literal,
    ast.DatetimeExpression: _literal,
    ast.TimedeltaExpression: _literal,
    ast.SymbolExpression: _symbol,
    ast.GetAttributeExpression: _attribute,
    ast.AddExpression: _add_sub,
    ast.SubtractExpression: _add_sub,
    ast.ArithmeticExpression: _arithmetic,
    ast.UnaryExpression: _unary,
    ast.ComparisonExpression: _comparison,
    ast.ArithmeticComparisonExpression: _comparison,
    ast.FuzzyComparisonExpression: _comparison,
    ast.LogicExpression: _logic,
    ast.TernaryExpression: _ternary,
    ast.ContainsExpression: _contains,
    ast.FunctionCallExpression: _call,
}
