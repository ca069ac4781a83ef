"""Bounds on a policy document and its rules, checked before anything expensive reads them.

A draft is text an officer (or whoever holds an officer's token) sends; parsing YAML and building
a rule-engine AST cost time and memory in proportion to it, and both recurse as deep as the text
nests. So the text is measured first, by cheap scans (its length, a count of brackets and of the
items of each literal list), and refused with a clear message before the YAML parser or
rule-engine ever sees it; what only the parsed rule can tell (how deep its AST nests) is checked
right after parsing, before the type checker, the compiler or an evaluation walks it.

The bounds are far beyond any real policy (docs/rules.md says why each was chosen):

- a document of 256 KiB: the thirteen examples are 1.5-4 KiB each, tests and all;
- a rule of 64 KiB: a list of all 1,380 GB/T 4754 industry classes is about 12 KiB;
- a literal list of 5,000 items (every industry class, or a district's streets, fits);
- a nesting depth of 64: brackets, `not`s, a chain of `or`s or of ternaries each add one; the
  thirteen examples nest at most 12 deep, and Python's own recursion runs out near 490;
- a regular expression of 1,000 characters that expands to at most 10,000 repeated items.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_DOCUMENT_BYTES = 256 * 1024
"""A whole policy document (a draft's body), in UTF-8 bytes."""

MAX_DOCUMENT_NESTING = 100
"""Brackets `[ {` open at once anywhere in a document's text (YAML's flow collections recurse)."""

MAX_RULE_CHARS = 64 * 1024
"""One rule (the eligibility or the amount), in characters."""

MAX_LIST_ITEMS = 5_000
"""Items of one literal list, set or mapping in a rule."""

MAX_NESTING = 64
"""How deep a rule's expression nests: brackets, prefix operators and operator chains."""

MAX_REGEX_CHARS = 1_000
"""One regular expression literal, in characters."""

MAX_REGEX_REPETITION = 10_000
"""What a regular expression expands to once its counted repetitions (`{m,n}`) are written out."""


@dataclass(frozen=True)
class Exceeded:
    """A bound a text goes past: where (an offset in the rule, when known) and what to do."""

    offset: int | None
    message: str


def document_problem(text: str) -> str | None:
    """Why a document's text is refused before parsing it, or None."""
    size = len(text.encode("utf-8"))
    if size > MAX_DOCUMENT_BYTES:
        return (
            f"the document is {size:,} bytes, more than the {MAX_DOCUMENT_BYTES:,} a policy may "
            "have; write long lists of codes as prefixes (industry.starts_with('C')) or split "
            "the policy"
        )
    depth = _deepest_brackets(text)
    if depth > MAX_DOCUMENT_NESTING:
        return (
            f"the document nests {depth} brackets deep, more than the {MAX_DOCUMENT_NESTING} "
            "a policy may; write the rules as text and nest less"
        )
    return None


_BRACKETS = re.compile(r"[\[\]{}]")


def _deepest_brackets(text: str) -> int:
    depth = deepest = 0
    for found in _BRACKETS.finditer(text):
        if found.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif depth:
            depth -= 1
    return deepest


_OPENERS = {"LPAREN", "LBRACKET", "LBRACE"}
_CLOSERS = {"RPAREN", "RBRACKET", "RBRACE"}
_COLLECTIONS = {"LBRACKET", "LBRACE"}


def rule_problems(text: str, tokens: list[Any] | None) -> list[Exceeded]:
    """Why a rule's text is refused before parsing it: its length, how deep its brackets nest,
    how long its literal lists are. `tokens` are rule-engine's lexer tokens of the text (None
    when the text is too long to lex)."""
    if len(text) > MAX_RULE_CHARS:
        return [
            Exceeded(
                None,
                f"the rule is {len(text):,} characters, more than the {MAX_RULE_CHARS:,} a rule "
                "may have; test codes by prefix (industry.starts_with('C')) or split the rule",
            )
        ]
    problems: list[Exceeded] = []
    stack: list[tuple[str, int, int]] = []  # (opener, offset, items so far)
    for token in tokens or ():
        if token.type in _OPENERS:
            stack.append((token.type, token.lexpos, 1))
            if len(stack) == MAX_NESTING + 1:
                problems.append(_too_deep(token.lexpos))
        elif token.type in _CLOSERS and stack:
            opener, offset, items = stack.pop()
            if opener in _COLLECTIONS and items > MAX_LIST_ITEMS:
                problems.append(_too_long(offset, items))
        elif token.type == "COMMA" and stack:
            opener, offset, items = stack[-1]
            stack[-1] = (opener, offset, items + 1)
    for opener, offset, items in stack:  # unclosed: the parser says so; the length still counts
        if opener in _COLLECTIONS and items > MAX_LIST_ITEMS:
            problems.append(_too_long(offset, items))
    return problems


def _too_deep(offset: int) -> Exceeded:
    return Exceeded(
        offset,
        f"the rule nests more than {MAX_NESTING} brackets deep; write it flatter "
        "(a list with `in` instead of nested brackets)",
    )


def _too_long(offset: int, items: int) -> Exceeded:
    return Exceeded(
        offset,
        f"this list has {items:,} items, more than the {MAX_LIST_ITEMS:,} a list may have; "
        "test codes by prefix (industry.starts_with('C')) or by range (revenue >= 0)",
    )


def nesting_problem(depth: int) -> str | None:
    """Why a parsed rule nesting `depth` deep is refused, or None."""
    if depth <= MAX_NESTING:
        return None
    return (
        f"the rule nests {depth} deep, more than the {MAX_NESTING} a rule may; use `x in [...]` "
        "instead of a chain of `or`s, and fewer nested brackets, `not`s and ternaries"
    )


TOO_DEEP_TO_PARSE = (
    f"the rule nests too deep to be read (more than {MAX_NESTING} levels of brackets, `not`s, "
    "ternaries or chained operators); write it flatter, with `x in [...]` instead of long chains"
)
"""The message when rule-engine's parser itself runs out of recursion."""
