"""Automatic grants (免申即享): after a match, every firm that qualifies for an automatic policy
gets its redemption without a click.

The guarantees are one-click redemption's: the budget is never exceeded, a firm holds a policy
once and a group once. The policy's budget row is locked for the whole grant, so no click can
reserve in between; the firms that already hold the policy or its group are left out in the
query, and a click racing in for the same firm loses to the unique constraints (the grant skips
that firm: ON CONFLICT DO NOTHING). When the budget cannot cover every firm, firms are granted in
USCC order until it runs out; the rest stay qualified and may still redeem if budget is freed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session

from matching.models import MatchRun
from policies import repository as policy_repository
from policies.document import PolicyDocument
from policies.service import published_document
from policies.validity import in_force
from subsidy.audit import service as audit
from subsidy.ledger import service as ledger
from subsidy.redemption import repository, risk
from subsidy.redemption.models import RedemptionStatus

ACTOR = "system:automatic-grant"


def automatic_key(policy_id: str) -> str:
    """The idempotency key of a firm's automatic grant of a policy (one per firm and policy)."""
    return f"automatic:{policy_id}"


@dataclass(frozen=True)
class Grants:
    policy_id: str
    version: int
    granted: int
    amount: Decimal
    beyond_budget: int
    """Qualified firms holding neither the policy nor its group that the budget could not cover."""


def grant_after_match(
    session: Session, runs: Sequence[MatchRun], *, as_of: dt.date
) -> list[Grants]:
    """Grant every automatic policy of the match to its qualified firms (flushes, never commits).

    A policy outside its validity window on `as_of` grants nothing."""
    done = []
    for run in sorted(runs, key=lambda r: r.policy_id):
        document = _document(session, run.policy_id, run.policy_version)
        if document.mode != "automatic":
            continue
        if not in_force(document, as_of):  # the match qualified nobody either
            continue
        done.append(_grant(session, run.policy_version, document))
    return done


def _grant(session: Session, version: int, document: PolicyDocument) -> Grants:
    policy_id = document.id
    budget = repository.locked_budget(session, policy_id, document.budget)
    remaining = document.budget - budget.reserved
    candidates = repository.ungranted(session, policy_id, document.group)
    chosen = within_budget(candidates, remaining)
    flagged = repository.flagged_among(session, [uscc for uscc, _ in chosen])

    def status(uscc: str, amount: Decimal) -> RedemptionStatus:
        return risk.initial_status(amount, document.review_threshold, flagged=uscc in flagged)

    granted = repository.insert_grants(
        session,
        [
            {
                "uscc": uscc,
                "policy_id": policy_id,
                "policy_version": version,
                "group_key": document.group,
                "amount": amount,
                "status": str(status(uscc, amount)),
                "idempotency_key": automatic_key(policy_id),
                "changed_by": ACTOR,
            }
            for uscc, amount in chosen
        ],
    )
    ledger.post(
        session,
        [
            move
            for redemption_id, uscc, amount in granted
            for move in ledger.promised(
                policy_id,
                uscc,
                redemption_id,
                amount,
                approved=status(uscc, amount) == RedemptionStatus.APPROVED,
            )
        ],
    )
    total = sum((amount for _, _, amount in granted), Decimal("0.00"))
    if granted and not repository.reserve(session, policy_id, document.budget, total):
        raise AssertionError(f"{policy_id}: the locked budget row refused {total} it had room for")
    audit.record_many(
        session,
        actor=ACTOR,
        changes=[
            audit.Change(
                "redemption.grant",
                f"redemption:{redemption_id}",
                after={
                    "policy": policy_id,
                    "version": version,
                    "amount": str(amount),
                    "uscc": uscc,
                },
            )
            for redemption_id, uscc, amount in granted
        ],
    )
    return Grants(policy_id, version, len(granted), total, len(candidates) - len(chosen))


def within_budget(
    candidates: Sequence[tuple[str, Decimal]], remaining: Decimal
) -> list[tuple[str, Decimal]]:
    """The longest prefix of `candidates` whose amounts fit in `remaining`."""
    chosen, total = [], Decimal("0.00")
    for uscc, amount in candidates:
        if total + amount > remaining:
            break
        chosen.append((uscc, amount))
        total += amount
    return chosen


def _document(session: Session, policy_id: str, version: int) -> PolicyDocument:
    stored = policy_repository.version(session, policy_id, version)
    assert stored is not None, "a match run names a stored version"
    return published_document(stored)


def after_match(session: Session, runs: list[MatchRun], as_of: dt.date) -> list[str]:
    """The match step (`matching.service.AfterMatch`): grant, and say what was granted."""
    return [
        f"granted automatically: {g.policy_id} v{g.version} to {g.granted:,} firms, "
        f"{g.amount:,.2f} yuan"
        + (f"; {g.beyond_budget:,} more qualify beyond the budget" if g.beyond_budget else "")
        for g in grant_after_match(session, runs, as_of=as_of)
    ]
