"""Policies for the security tests: an example with its eligibility changed, checked or not.

`published_unchecked` stores a version the way an older release (or a database write) might
have: without today's validation, so the tests can show what the service does when such a rule
reaches a firm's page, a redemption or a match.
"""

from __future__ import annotations

import re
from pathlib import Path

import rule_engine
from sqlalchemy import Engine

from policies import service as policy_service
from policies.checking import CheckedPolicy, parameters_of
from policies.document import PolicyDocument, load_path
from policies.language import context
from subsidy import db

EXAMPLES = Path(__file__).parents[2] / "policies" / "examples"
TECH_ID = "hz-2020-digital-tech-award"
TECH_PATH = EXAMPLES / f"{TECH_ID}.yaml"
TECH = TECH_PATH.read_text(encoding="utf-8")
TECH_ELIGIBILITY = "status == 'active' and not dishonest"
"""The start of the example's eligibility, which the tests replace."""


def _place_of(text: str, needle: str) -> tuple[int, int]:
    """The 1-based line and column where `needle` starts in `text`, counted by hand."""
    for number, row in enumerate(text.splitlines(), start=1):
        if needle in row:
            return number, row.index(needle) + 1
    raise AssertionError(f"{needle!r} is not in the example")


ELIGIBILITY_LINE, ELIGIBILITY_COLUMN = _place_of(TECH, TECH_ELIGIBILITY)

BACKTRACKS = "(.*.*)*Q"
"""Exponential in Python's `re` on a text without a Q (40 characters take hours)."""


def with_eligibility(start: str) -> str:
    """The tech award's YAML with `start` instead of the start of its eligibility (and without
    its clause labels, which name the example's own clauses; they follow the eligibility, so
    its place is unchanged)."""
    assert TECH_ELIGIBILITY in TECH
    return without_labels(TECH).replace(TECH_ELIGIBILITY, start, 1)


def without_labels(text: str) -> str:
    """A policy's YAML without its `clauses:` block."""
    return re.sub(r"^clauses:.*?(?=^\w)", "", text, count=1, flags=re.DOTALL | re.MULTILINE)


def unchecked(policy_id: str, eligibility: str) -> PolicyDocument:
    base = load_path(EXAMPLES / f"{policy_id}.yaml")
    return base.model_copy(update={"eligibility": eligibility, "clauses": None})


def published_unchecked(engine: Engine, document: PolicyDocument) -> None:
    """Publish without validation, tests or the matcher's compile check."""
    ctx = context(parameters_of(document), document.valid_from)
    checked = CheckedPolicy(
        document,
        rule_engine.Rule(document.eligibility, context=ctx),
        rule_engine.Rule(document.amount, context=ctx),
        parameters_of(document),
    )
    with db.session_scope(engine) as session:
        policy_service.publish(session, policy_service.Approved(checked, []), by="officer:test")
