"""What a rule may not do, found on its text and its parsed expression before anything runs it.

- go past the bounds of `policies.limits` (checked on the text and its tokens before parsing, and
  the nesting depth right after);
- use a regular expression that may backtrack catastrophically or cannot be compiled
  (`policies.regexes`), or a pattern that is not written in the rule or a parameter (one built
  from a firm's data could be anything);
- read a personal column (`schema.PERSONAL_COLUMNS`, such as `bank_account`): a rule may test
  only whether it is present, `bank_account != null` or `bank_account == null`. Anything else
  could read the value character by character through an explanation.

Each finding carries the offset in the rule's text it is about (None when unknown), so the
checker places it at a line and column of the document.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from typing import Any

import rule_engine
import rule_engine.parser
from rule_engine import ast

from policies import limits, regexes
from subsidy.errors import read_back
from subsidy.registry.schema import EMPLOYEES, ENTERPRISES

PERSONAL_SYMBOLS = frozenset(c.name for c in ENTERPRISES.columns if c.personal)
"""Firm columns a rule may only test for presence."""
PERSONAL_ATTRIBUTES = frozenset(c.name for c in EMPLOYEES.columns if c.personal)
"""Employee attributes a rule may only test for presence."""

_FUZZY = {"EQ_FZM", "EQ_FZS", "NE_FZM", "NE_FZS"}
_PRESENCE = {"EQ", "NE"}


@dataclass(frozen=True)
class Finding:
    offset: int | None
    message: str

    @property
    def code(self) -> str:
        return rule_code(self.message)[0]

    @property
    def fields(self) -> dict[str, object]:
        return rule_code(self.message)[1]


RULE_CODES = (
    "policy.rule_too_long",
    "policy.rule_nests_brackets",
    "policy.list_too_long",
    "policy.rule_nests",
    "policy.dynamic_pattern",
    "policy.personal_data",
    "policy.document_too_large",
    "policy.document_nests",
    "policy.regex_refused",  # the most general words: last
)
"""What a rule or a document may not do, by code: read back from the words `limits`, `regexes`
and this module write (`subsidy.errors.read_back`)."""


def rule_code(message: str) -> tuple[str, dict[str, object]]:
    """The code and fields of a guard's message (`policy.rule_refused` when none fits)."""
    return read_back(message, RULE_CODES) or ("policy.rule_refused", {"detail": message})


@cache
def _lexer() -> Any:
    return rule_engine.parser.Parser()._lexer


def tokens(text: str) -> list[Any] | None:
    """rule-engine's tokens of the text; None when it is too long to lex or does not lex (the
    parser then says why)."""
    if len(text) > limits.MAX_RULE_CHARS:
        return None
    lexer = _lexer().clone()
    lexer.input(text)
    try:
        return list(lexer)
    except rule_engine.errors.EngineError:
        return None


def before_parsing(text: str, found: list[Any] | None) -> list[Finding]:
    """The bounds a rule's text must keep before the parser may read it."""
    return [Finding(e.offset, e.message) for e in limits.rule_problems(text, found)]


def after_parsing(
    rule: rule_engine.Rule, found: list[Any] | None, parameters: Mapping[str, Any]
) -> list[Finding]:
    """What the parsed rule may not do: nest too deep, run a dangerous regex, read personal data."""
    expression = rule.statement.expression
    too_deep = limits.nesting_problem(_depth(expression))
    if too_deep is not None:
        return [Finding(None, too_deep)]  # walking it further would recurse as deep
    nodes = list(_walk(expression))
    return _regex_findings(nodes, found or [], parameters) + _personal_findings(nodes, found or [])


# --- the expression tree -------------------------------------------------------------------------

_CHILDREN = (
    "left",
    "right",
    "condition",
    "case_true",
    "case_false",
    "container",
    "member",
    "object",
    "item",
    "start",
    "stop",
    "function",
    "iterable",
    "result",
)


def _children(node: Any) -> Iterator[Any]:
    for name in _CHILDREN:
        child = getattr(node, name, None)
        if isinstance(child, ast.ExpressionBase):
            yield child
    members: Any = ()
    if isinstance(node, ast.ArrayExpression | ast.SetExpression | ast.MappingExpression):
        members = node.value
    elif isinstance(node, ast.FunctionCallExpression):
        members = node.arguments
    for member in members:
        yield from (m for m in (member if isinstance(member, tuple) else (member,)))


def _depth(root: Any) -> int:
    """How deep the expression nests, without recursing (it may nest deeper than Python can)."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in _children(node))
    return deepest


def _walk(root: Any) -> Iterator[Any]:
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(_children(node))


# --- regular expressions -------------------------------------------------------------------------


def _regex_findings(
    nodes: list[Any], found: list[Any], parameters: Mapping[str, Any]
) -> list[Finding]:
    literals = _pattern_offsets(found)
    findings = []
    for node in nodes:
        if not isinstance(node, ast.FuzzyComparisonExpression):
            continue
        right = node.right
        if isinstance(right, ast.StringExpression):
            pattern, offset = right.value, literals.get(right.value)
        elif isinstance(right, ast.SymbolExpression) and isinstance(
            parameters.get(right.name), str
        ):
            pattern, offset = parameters[right.name], _symbol_offset(found, right.name)
        else:
            findings.append(
                Finding(
                    _first_fuzzy(found),
                    "the pattern after =~ must be written in the rule or be a text parameter; "
                    "a pattern read from a firm's data could be anything",
                )
            )
            continue
        why = regexes.problem(pattern)
        if why is not None:
            findings.append(Finding(offset, f"{why} (pattern {pattern!r})"))
    return findings


def _pattern_offsets(found: list[Any]) -> dict[str, int]:
    """Each literal pattern after a regex operator, as rule-engine reads it, at its offset."""
    offsets: dict[str, int] = {}
    for operator, token in pairwise(found):
        if operator.type in _FUZZY and token.type == "STRING":
            value = _string_value(token.value)
            if value is not None:
                offsets.setdefault(value, token.lexpos)
    return offsets


def _string_value(literal: str) -> str | None:
    try:
        value = rule_engine.Rule(literal).statement.expression.value
    except rule_engine.EngineError:
        return None
    return value if isinstance(value, str) else None


def _first_fuzzy(found: list[Any]) -> int | None:
    return next((t.lexpos for t in found if t.type in _FUZZY), None)


def _symbol_offset(found: list[Any], name: str) -> int | None:
    return next((t.lexpos for t in found if t.type == "SYMBOL" and t.value == name), None)


# --- personal columns ----------------------------------------------------------------------------


def _personal_name(node: Any) -> str | None:
    if isinstance(node, ast.SymbolExpression) and node.name in PERSONAL_SYMBOLS:
        return str(node.name)
    if isinstance(node, ast.GetAttributeExpression) and node.name in PERSONAL_ATTRIBUTES:
        return str(node.name)
    return None


def _presence_tests(nodes: list[Any]) -> set[int]:
    """The ids of the personal reads that only compare with null."""
    allowed = set()
    for node in nodes:
        if type(node) is ast.ComparisonExpression and node.type in ("eq", "ne"):
            for read, other in ((node.left, node.right), (node.right, node.left)):
                if isinstance(other, ast.NullExpression) and _personal_name(read):
                    allowed.add(id(read))
    return allowed


def _personal_findings(nodes: list[Any], found: list[Any]) -> list[Finding]:
    allowed = _presence_tests(nodes)
    misused = [
        name for n in nodes if (name := _personal_name(n)) is not None and id(n) not in allowed
    ]
    if not misused:
        return []
    offsets = _misused_offsets(found)
    findings = []
    for index, name in enumerate(misused):
        offset = offsets[index] if index < len(offsets) else _first_read(found, name)
        findings.append(
            Finding(
                offset,
                f"{name} is personal data: a rule may only test whether it is present, never "
                f"read it; test only whether it is present: {name} != null (or {name} == null)",
            )
        )
    return findings


def _reads(found: list[Any]) -> list[int]:
    """Indexes of the tokens that name a personal column or attribute."""
    indexes = []
    for index, token in enumerate(found):
        after_dot = index > 0 and found[index - 1].type in ("ATTR", "ATTR_SAFE")
        names = PERSONAL_ATTRIBUTES if after_dot else PERSONAL_SYMBOLS
        if token.type == "SYMBOL" and token.value in names:
            indexes.append(index)
    return indexes


def _misused_offsets(found: list[Any]) -> list[int]:
    """Offsets of the personal reads that are not written as `x == null`, `null != x`, ..."""
    offsets = []
    for index in _reads(found):
        after = [t.type for t in found[index + 1 : index + 3]]
        before = [t.type for t in found[max(index - 2, 0) : index]]
        compared_after = len(after) == 2 and after[0] in _PRESENCE and after[1] == "NULL"
        compared_before = len(before) == 2 and before[0] == "NULL" and before[1] in _PRESENCE
        if not (compared_after or compared_before):
            offsets.append(found[index].lexpos)
    return offsets


def _first_read(found: list[Any], name: str) -> int | None:
    return next((found[i].lexpos for i in _reads(found) if found[i].value == name), None)
