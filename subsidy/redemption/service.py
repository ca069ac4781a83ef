"""Redeeming a subsidy with one click: re-check, reserve, record, all or nothing.

The request's transaction holds it together: any refusal raised here rolls back the budget
reservation with everything else. The unique constraints and the conditional budget update decide
under concurrency; the look-ups before them only give a clear message in the common case.

Every redemption of a policy updates the same budget row and every audited change the same chain
head, and each holds its row locked until it commits. So those two come last, after the firm's own
row is written, which keeps the time anyone waits for them to a couple of statements.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from policies import evaluation
from policies import repository as policy_repository
from policies.document import PolicyDocument
from policies.explain import ClauseResult, explain, registered_firm
from policies.models import PolicyState
from policies.service import current_document
from policies.validity import out_of_force
from subsidy.audit import service as audit
from subsidy.ledger import service as ledger
from subsidy.redemption import repository, risk
from subsidy.redemption.errors import (
    AlreadyRedeemed,
    BudgetExhausted,
    GroupConflict,
    KeyReused,
    NotEligible,
    NotRedeemable,
    UnknownPolicy,
)
from subsidy.redemption.models import Redemption, RedemptionStatus
from subsidy.registry import catalog as catalogs

RESERVE_ACTION = "redemption.reserve"


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
        return _replayed(replay, policy_id, idempotency_key)
    published = _redeemable(session, policy_id, today)
    document = published.document
    amount = _amount_for(session, uscc, published, today)
    held = repository.held(session, uscc, policy_id, document.group)
    if held is not None and held.idempotency_key == idempotency_key:
        return _replayed(held, policy_id, idempotency_key)  # stored since the look-up above
    if held is not None:
        raise _conflict(held, uscc, policy_id, document.group)
    redemption = Redemption(
        uscc=uscc,
        policy_id=policy_id,
        policy_version=published.version,
        group_key=document.group,
        amount=amount,
        status=risk.initial_status(
            amount, document.review_threshold, flagged=repository.flagged(session, uscc)
        ),
        idempotency_key=idempotency_key,
        changed_by=f"enterprise:{uscc}",
    )
    if session.connection().dialect.name != "postgresql":
        # No savepoint here: pysqlite's SAVEPOINT, opened before its own BEGIN, commits the
        # whole transaction when released. So on SQLite (one writer at a time, the embedded
        # default) a replay racing its first request can still be refused 409; the service
        # under load is PostgreSQL.
        try:
            _store(session, redemption, document.budget)
        except IntegrityError as exc:
            raise _refusal(exc, redemption) from exc
        return Redeemed(redemption, created=True)
    try:
        # A savepoint: when a concurrent request wins a unique constraint, what it stored can
        # still be read in this transaction.
        with session.begin_nested():
            _store_in_one_statement(session, redemption, document.budget)
    except IntegrityError as exc:
        # The same key sent twice at once: both missed the replay look-up above, the first
        # stored it; the second is its replay, not a conflict.
        winner = repository.by_key(session, uscc, idempotency_key)
        if winner is not None:
            return _replayed(winner, policy_id, idempotency_key)
        raise _refusal(exc, redemption) from exc
    return Redeemed(redemption, created=True)


def _replayed(replay: Redemption, policy_id: str, idempotency_key: str) -> Redeemed:
    if replay.policy_id != policy_id:
        raise KeyReused(key=idempotency_key, policy_id=replay.policy_id)
    return Redeemed(replay, created=False)


def _store(session: Session, redemption: Redemption, budget: Decimal) -> None:
    """Insert, reserve, record: the firm's own row first, the shared hot rows last."""
    session.add(redemption)
    session.flush()
    if not repository.reserve(session, redemption.policy_id, budget, redemption.amount):
        raise _exhausted(redemption)
    assert redemption.id is not None
    ledger.post(session, _promised(redemption))
    audit.record(
        session,
        actor=_actor(redemption),
        action=RESERVE_ACTION,
        subject=f"redemption:{redemption.id}",
        after=_audited(redemption),
    )


def _promised(redemption: Redemption) -> list[ledger.Move]:
    assert redemption.id is not None
    return ledger.promised(
        redemption.policy_id,
        redemption.uscc,
        redemption.id,
        redemption.amount,
        approved=redemption.status == RedemptionStatus.APPROVED,
    )


def _store_in_one_statement(session: Session, redemption: Redemption, budget: Decimal) -> None:
    """PostgreSQL: the same three writes as one statement (see the repository for why)."""
    entry = audit.sql_entry(
        actor=_actor(redemption),
        action=RESERVE_ACTION,
        subject_prefix="redemption:",
        after=_audited(redemption),
    )
    stored = repository.reserve_insert_and_record(session, redemption, budget, entry)
    if stored is None:
        raise _exhausted(redemption)
    redemption.id, redemption.created_at = stored.redemption_id, entry.at
    audit.appended(session, stored.entry_id, stored.mac)


def _actor(redemption: Redemption) -> str:
    return f"enterprise:{redemption.uscc}"


def _audited(redemption: Redemption) -> dict[str, object]:
    return {
        "policy": redemption.policy_id,
        "version": redemption.policy_version,
        "amount": str(redemption.amount),
        "uscc": redemption.uscc,
        "status": str(redemption.status),
    }


def _exhausted(redemption: Redemption) -> BudgetExhausted:
    return BudgetExhausted(policy_id=redemption.policy_id, amount=redemption.amount)


@dataclass(frozen=True)
class _Published:
    version: int
    document: PolicyDocument


def _redeemable(session: Session, policy_id: str, today: dt.date) -> _Published:
    """The policy's current version, if it can be redeemed today.

    The policy row is read every time (a suspension takes effect at once), and the version's
    content hash; its parsed document is kept by that hash (`policies.service`), its rules by
    the evaluator processes."""
    policy = policy_repository.get(session, policy_id)
    if policy is None or policy.latest_version == 0:
        raise UnknownPolicy(policy_id=policy_id)
    if policy.state != PolicyState.PUBLISHED:
        raise NotRedeemable(policy_id=policy_id, state=str(policy.state))
    published = _Published(*current_document(session, policy))
    why = out_of_force(published.document, today)
    if why is not None:
        code = "redemption.not_yet_valid" if why.not_yet else "redemption.expired"
        raise NotRedeemable(code=code, policy_id=policy_id, **why.values)
    return published


def _amount_for(session: Session, uscc: str, published: _Published, today: dt.date) -> Decimal:
    """The firm's amount on the current registry (whatever an older match said), or NotEligible."""
    catalog = catalogs.current(session)
    record = registered_firm(session, uscc, catalog)
    if record is None:
        raise NotEligible(code="redemption.not_registered", uscc=uscc)
    document = published.document
    outcome = evaluation.evaluate(document, record, today, catalog)
    if outcome.timed_out:
        raise NotEligible(
            code="redemption.not_checked", uscc=uscc, policy_id=document.id, why=outcome.error
        )
    if not outcome.qualifies or outcome.amount is None:
        why = explain(document, record, today, catalog)
        clauses = [_refused_clause(c) for c in why.clauses]
        raise NotEligible(uscc=uscc, policy_id=document.id, explanation=clauses)
    return outcome.amount


def _refused_clause(clause: ClauseResult) -> dict[str, Any]:
    """A clause of a refusal's explanation: its rule, value and error, and its label in each
    language when the policy labels its clauses (None otherwise)."""
    label = None if clause.label is None else {"zh": clause.label.zh, "en": clause.label.en}
    return {"text": clause.text, "value": clause.value, "error": clause.error, "label": label}


def _conflict(held: Redemption, uscc: str, policy_id: str, group: str | None) -> Exception:
    if held.policy_id == policy_id:
        return AlreadyRedeemed(uscc=uscc, policy_id=policy_id)
    return GroupConflict(uscc=uscc, group=group)


def _refusal(exc: IntegrityError, redemption: Redemption) -> Exception:
    """A concurrent request won the race; say which guarantee stopped this one."""
    message = str(exc.orig)
    if "uq_redemption_firm_group" in message or "group_key" in message:
        return GroupConflict(uscc=redemption.uscc, group=redemption.group_key)
    if "uq_redemption_firm_key" in message or "idempotency_key" in message:
        return KeyReused(code="redemption.key_in_progress")
    return AlreadyRedeemed(uscc=redemption.uscc, policy_id=redemption.policy_id)
