"""Redeeming a subsidy with one click: re-check, reserve, record, all or nothing.

The request's transaction holds it together: any refusal raised here rolls back the budget
reservation with everything else. The unique constraints and the conditional budget update decide
under concurrency; the look-ups before them only give a clear message in the common case.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from matching.explain import explain, registered_firm
from policies import repository as policy_repository
from policies.checking import rules_for
from policies.document import PolicyDocument
from policies.language import evaluate_firm
from policies.models import PolicyState
from policies.service import published_document
from subsidy.audit import service as audit
from subsidy.redemption import repository
from subsidy.redemption.errors import (
    AlreadyRedeemed,
    BudgetExhausted,
    GroupConflict,
    KeyReused,
    NotEligible,
    NotRedeemable,
    UnknownPolicy,
)
from subsidy.redemption.models import Redemption

RESERVED = "reserved"


@dataclass(frozen=True)
class Redeemed:
    redemption: Redemption
    created: bool
    """False for a replay of an idempotency key already used for the same request."""


def redeem(
    session: Session, uscc: str, policy_id: str, idempotency_key: str, *, today: dt.date
) -> Redeemed:
    replay = repository.by_key(session, uscc, idempotency_key)
    if replay is not None:
        if replay.policy_id != policy_id:
            raise KeyReused(f"idempotency key {idempotency_key!r} was used for {replay.policy_id}")
        return Redeemed(replay, created=False)
    version, document = _redeemable(session, policy_id, today)
    amount = _amount_for(session, uscc, document, today)
    if repository.by_policy(session, uscc, policy_id) is not None:
        raise AlreadyRedeemed(f"{uscc} has already redeemed {policy_id}")
    if document.group and repository.by_group(session, uscc, document.group) is not None:
        raise GroupConflict(f"{uscc} already holds a subsidy of group {document.group}")
    if not repository.reserve(session, policy_id, document.budget, amount):
        raise BudgetExhausted(f"the budget of {policy_id} cannot cover {amount} yuan more")
    redemption = Redemption(
        uscc=uscc,
        policy_id=policy_id,
        policy_version=version,
        group_key=document.group,
        amount=amount,
        status=RESERVED,
        idempotency_key=idempotency_key,
    )
    session.add(redemption)
    try:
        session.flush()
    except IntegrityError as exc:
        raise _refusal(exc, uscc, policy_id, document.group) from exc
    audit.record(
        session,
        actor=f"enterprise:{uscc}",
        action="redemption.reserve",
        subject=f"redemption:{redemption.id}",
        after={"policy": policy_id, "version": version, "amount": str(amount), "uscc": uscc},
    )
    return Redeemed(redemption, created=True)


def _redeemable(session: Session, policy_id: str, today: dt.date) -> tuple[int, PolicyDocument]:
    policy = policy_repository.get(session, policy_id)
    if policy is None or policy.latest_version == 0:
        raise UnknownPolicy(f"no published policy {policy_id!r}")
    if policy.state != PolicyState.PUBLISHED:
        raise NotRedeemable(f"policy {policy_id} is {policy.state}")
    stored = policy_repository.version(session, policy_id, policy.latest_version)
    assert stored is not None, "a policy's latest version is stored"
    document = published_document(stored)
    if not document.valid_from <= today <= document.valid_to:
        raise NotRedeemable(
            f"policy {policy_id} is valid from {document.valid_from} to {document.valid_to}"
        )
    return stored.version, document


def _amount_for(session: Session, uscc: str, document: PolicyDocument, today: dt.date) -> Decimal:
    """The firm's amount on the current registry (whatever an older match said), or NotEligible."""
    record = registered_firm(session, uscc)
    if record is None:
        raise NotEligible(f"{uscc} is not in the current enterprise registry")
    outcome = evaluate_firm(*rules_for(document, today), document.cap, record)
    if not outcome.qualifies or outcome.amount is None:
        why = explain(document, record, today)
        clauses = [{"text": c.text, "value": c.value, "error": c.error} for c in why.clauses]
        raise NotEligible(f"{uscc} does not qualify for {document.id} today", clauses)
    return outcome.amount


def _refusal(exc: IntegrityError, uscc: str, policy_id: str, group: str | None) -> Exception:
    """A concurrent request won the race; say which guarantee stopped this one."""
    message = str(exc.orig)
    if "uq_redemption_firm_group" in message or "group_key" in message:
        return GroupConflict(f"{uscc} already holds a subsidy of group {group}")
    if "uq_redemption_firm_key" in message or "idempotency_key" in message:
        return KeyReused("a request with this idempotency key is being processed; retry it")
    return AlreadyRedeemed(f"{uscc} has already redeemed {policy_id}")
