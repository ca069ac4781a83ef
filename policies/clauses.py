"""An eligibility rule as the clauses an officer reads: the operands of its top-level `and`.

Previews count how many firms each clause stops, explanations show each clause's value and the
values it read. Splitting uses rule-engine's own lexer, so strings, brackets and comprehensions
(which may hold an `and` of their own) are never cut; a rule whose top level has an `or` or a
ternary is one clause, since `and` binds tighter than either.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from typing import Any

import rule_engine.parser

_OPENERS = {"LPAREN", "LBRACKET", "LBRACE"}
_CLOSERS = {"RPAREN", "RBRACKET", "RBRACE"}
_UNSPLITTABLE = {"OR", "QMARK", "COALESCE"}


@dataclass(frozen=True)
class Clause:
    text: str
    symbols: tuple[str, ...]
    """The firm's or the policy's symbols the clause reads, in order, without repeats."""


def split_clauses(rule_text: str) -> list[Clause]:
    tokens = _tokens(rule_text)
    cuts = [t.lexpos for t in _top_level(tokens) if t.type == "AND"]
    if any(t.type in _UNSPLITTABLE for t in _top_level(tokens)):
        cuts = []
    bounds = [0, *cuts, len(rule_text)]
    pieces = []
    for start, end in pairwise(bounds):
        text = rule_text[start:end].strip()
        text = text[3:].strip() if start in cuts else text  # drop the `and` itself
        pieces.append(text)
    return [Clause(text, _symbols(text)) for text in pieces]


@cache
def _lexer() -> Any:
    # Building rule-engine's parser takes a while; its lexer is cloned for each use.
    return rule_engine.parser.Parser()._lexer


def _tokens(text: str) -> list[Any]:
    lexer = _lexer().clone()
    lexer.input(text)
    return list(lexer)


def _top_level(tokens: list[Any]) -> list[Any]:
    depth, found = 0, []
    for token in tokens:
        if token.type in _OPENERS:
            depth += 1
        elif token.type in _CLOSERS:
            depth -= 1
        elif depth == 0:
            found.append(token)
    return found


def _symbols(text: str) -> tuple[str, ...]:
    """Symbols that are not attributes (`e.insured`) nor comprehension variables (`e`)."""
    tokens = _tokens(text)
    bound = {tokens[i + 1].value for i, t in enumerate(tokens[:-1]) if t.type == "FOR"}
    names: list[str] = []
    for previous, token in zip([None, *tokens], tokens, strict=False):
        after_attr = previous is not None and previous.type in ("ATTR", "ATTR_SAFE")
        is_free = token.type == "SYMBOL" and not after_attr and token.value not in bound
        if is_free and token.value not in names:
            names.append(token.value)
    return tuple(names)
