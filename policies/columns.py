"""Which registry columns the published policies read.

A declaration that removes or retypes a column is refused while a published policy reads it
(`subsidy.declare`): the policy would stop checking or change meaning under firms that already
qualify. "Published" is the lifecycle state in which a policy matches and firms redeem it; a
suspended or closed policy does neither, and publishing it again checks it anew.

A rule reads a column as a symbol (`rd_expense / revenue`) or, for an employee's column, as an
attribute inside a comprehension (`e.months_insured_2019`); both count. The words are found with
rule-engine's own lexer, so a name inside a string literal is not a read. Every word counts, a
parameter's or a comprehension variable's too: the caller asks about column names only, and a
parameter named like a declared column is counted as reading it, which errs on the safe side.
"""

from __future__ import annotations

import json
from collections import defaultdict
from functools import cache
from typing import Any

import rule_engine.errors
import rule_engine.parser
from sqlalchemy import and_, select
from sqlmodel import Session, col

from policies.models import Policy, PolicyState, PolicyVersion

RULE_FIELDS = ("eligibility", "amount")
"""The fields of a policy document that hold rules."""


def columns_read_by_published(session: Session) -> dict[str, list[str]]:
    """Every name the published policies' rules read -> the ids of those policies, sorted."""
    query = (
        select(col(PolicyVersion.policy_id), col(PolicyVersion.document))
        .join(
            Policy,
            and_(
                col(Policy.id) == col(PolicyVersion.policy_id),
                col(Policy.latest_version) == col(PolicyVersion.version),
            ),
        )
        .where(col(Policy.state) == PolicyState.PUBLISHED)
    )
    readers: dict[str, set[str]] = defaultdict(set)
    for policy_id, document in session.execute(query):
        for name in names_read(json.loads(document)):
            readers[name].add(policy_id)
    return {name: sorted(ids) for name, ids in sorted(readers.items())}


def names_read(document: dict[str, Any]) -> set[str]:
    """The words a policy document's rules read: symbols and attributes alike."""
    return {name for field in RULE_FIELDS for name in rule_words(str(document.get(field) or ""))}


def rule_words(rule: str) -> frozenset[str]:
    """Every symbol and attribute name in `rule` (`[e for e in employees if e.x]` -> e,
    employees, x), from rule-engine's lexer; a rule it cannot lex reads nothing it can name."""
    lexer = _lexer().clone()
    lexer.input(rule)
    try:
        return frozenset(t.value for t in lexer if t.type == "SYMBOL")
    except rule_engine.errors.RuleSyntaxError:
        return frozenset()


@cache
def _lexer() -> Any:
    # Building rule-engine's parser takes a while; its lexer is cloned for each use.
    return rule_engine.parser.Parser()._lexer
