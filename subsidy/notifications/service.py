"""Filling the outbox after a match, and delivering it.

Writing is set-based (INSERT ... SELECT ... ON CONFLICT DO NOTHING): a city-scale match finds
millions of qualifications, and the unique constraint alone decides what is new. A qualification
is worth telling only while the firm holds no redemption of the policy: a firm that already has
it (by click or grant) has nothing to act on, and a grant is told as a grant.

What a firm is told depends on the policy's mode (words in `promises.po`): a one-click policy
says how to redeem it (一键兑付), an automatic one that it will be granted (将自动发放) or that it
was (已自动发放); an automatic policy never asks for a click.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, exists, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from matching.models import MatchRun, Qualification
from policies import repository as policy_repository
from policies.document import ClauseLabel, PolicyDocument
from policies.models import Policy
from policies.service import published_document
from subsidy import i18n
from subsidy.audit import service as audit
from subsidy.db import utcnow
from subsidy.notifications.addresses import AddressBook
from subsidy.notifications.errors import NotificationNotFound, NotUndelivered
from subsidy.notifications.models import REASON_LENGTH, Kind, Notification, Undelivered
from subsidy.notifications.senders import Deferred, Delivered, Message, Outcome, Refused, Sender
from subsidy.redemption.automatic import automatic_key
from subsidy.redemption.models import Redemption


def after_match(session: Session, runs: list[MatchRun], as_of: dt.date) -> list[str]:
    """The match step (`matching.service.AfterMatch`): queue what each firm must be told."""
    policy_ids = sorted({run.policy_id for run in runs})
    if not policy_ids:
        return []
    qualified = _queue(session, _new_qualifications(policy_ids))
    granted = _queue(session, _automatic_grants(policy_ids))
    return [f"notifications queued: {qualified:,} qualifications, {granted:,} automatic grants"]


def _new_qualifications(policy_ids: Sequence[str]) -> Select[str, str, str, Decimal]:
    q = Qualification
    holds = exists().where(
        col(Redemption.uscc) == col(q.uscc), col(Redemption.policy_id) == col(q.policy_id)
    )
    return select(col(q.uscc), col(q.policy_id), literal(str(Kind.QUALIFIED)), col(q.amount)).where(
        col(q.policy_id).in_(policy_ids), ~holds
    )


def _automatic_grants(policy_ids: Sequence[str]) -> Select[str, str, str, Decimal]:
    r = Redemption
    keys = [automatic_key(p) for p in policy_ids]
    return select(col(r.uscc), col(r.policy_id), literal(str(Kind.GRANTED)), col(r.amount)).where(
        col(r.idempotency_key).in_(keys)
    )


def _queue(session: Session, rows: Select[str, str, str, Decimal]) -> int:
    dialect = postgresql if session.connection().dialect.name == "postgresql" else sqlite
    now = utcnow()
    statement = (
        dialect.insert(Notification)
        .from_select(
            ["uscc", "policy_id", "kind", "amount", "created_at"],
            rows.add_columns(literal(now, Notification.__table__.c.created_at.type)),  # type: ignore[attr-defined]
        )
        .on_conflict_do_nothing()
    )
    # SQLAlchemy keeps an INSERT's row count only when asked to.
    result = session.execute(statement, execution_options={"preserve_rowcount": True})
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Pending:
    notification: Notification
    title: str
    """The policy's Chinese title, and `title_en` its English one (Chinese when it has none)."""
    title_en: str
    mode: str
    """The policy's mode (`one-click` or `automatic`), from its latest published version."""
    reasons: tuple[ClauseLabel, ...] = ()
    """Its clause labels (empty when the document gives none): a notified firm met them all."""


@dataclass(frozen=True)
class Retry:
    """Backoff after a transient failure: `first_seconds`, doubled each time, at most
    `MAX_BACKOFF_SECONDS`; the `max_attempts`th failure records the notice as unreachable."""

    first_seconds: float = 60.0
    max_attempts: int = 10

    def wait(self, attempts: int) -> dt.timedelta:
        return dt.timedelta(seconds=min(self.first_seconds * 2 ** (attempts - 1), MAX_BACKOFF))


MAX_BACKOFF = 3600.0


@dataclass(frozen=True)
class Delivery:
    """What one `deliver` did with the notices it took."""

    delivered: int = 0
    undelivered: int = 0
    deferred: int = 0

    @property
    def handled(self) -> int:
        return self.delivered + self.undelivered + self.deferred

    def __add__(self, other: Delivery) -> Delivery:
        return Delivery(
            self.delivered + other.delivered,
            self.undelivered + other.undelivered,
            self.deferred + other.deferred,
        )


def deliver(
    session: Session,
    sender: Sender,
    *,
    limit: int = 1_000,
    addresses: AddressBook | None = None,
    retry: Retry = Retry(),
    now: dt.datetime | None = None,
) -> Delivery:
    """Deliver up to `limit` pending notifications, oldest first.

    The rows are locked (SKIP LOCKED: two `notify` processes share the work instead of sending
    the same message twice) and their outcomes recorded in the caller's transaction. The sender
    gets each message's key and drops any key it has already delivered, which covers the one gap
    left: a crash after sending but before the commit.

    A sender that needs addresses gets each firm's from `addresses`: a firm without one, or
    with one no relay takes, is recorded as undelivered without a word to the relay. A refusal
    for good is undelivered (refused); a transient failure stays pending until `retry`'s
    backoff has passed (`now`, the clock, is the caller's)."""
    now = now or utcnow()
    query = (
        select(Notification, col(Policy.title), col(Policy.title_en))
        .join(Policy, col(Policy.id) == col(Notification.policy_id))
        .where(
            col(Notification.delivered_at).is_(None),
            col(Notification.undelivered).is_(None),
            or_(
                col(Notification.next_attempt_at).is_(None),
                col(Notification.next_attempt_at) <= now,
            ),
        )
        .order_by(col(Notification.id))
        .limit(limit)
        .with_for_update(skip_locked=True, of=Notification)
    )
    pending = _pending(session, session.execute(query).all())
    if not pending:
        return Delivery()
    messages = {
        p.notification.id: message(p.notification, p.title, p.mode, p.title_en, p.reasons)
        for p in pending
    }
    unaddressed = 0
    if sender.needs_address:
        if addresses is None:
            raise ValueError("this sender needs the firms' addresses: pass an AddressBook")
        unaddressed = _address(session, addresses, pending, messages, now)
    outcomes = sender.send(list(messages.values())) if messages else {}
    done = Delivery(undelivered=unaddressed)
    for p in pending:
        n = p.notification
        if n.id in messages:
            done = done + _record(n, outcomes[messages[n.id].key], retry, now)
    session.flush()
    return done


def _address(
    session: Session,
    addresses: AddressBook,
    pending: Sequence[Pending],
    messages: dict[int | None, Message],
    now: dt.datetime,
) -> int:
    """Give each message its firm's address, name and languages; a firm without a usable
    address has its notice recorded as undelivered and its message dropped. Returns how many."""
    reader = addresses.reader(session)
    unaddressed = 0
    for p in pending:
        n = p.notification
        contact = reader.contact(n.uscc)
        if contact.address is None:
            assert contact.problem is not None
            _undelivered(n, contact.problem, contact.reason or "", now)
            del messages[n.id]
            unaddressed += 1
        else:
            messages[n.id] = replace(
                messages[n.id],
                address=contact.address,
                firm=contact.name,
                languages=contact.languages,
            )
    return unaddressed


def _record(n: Notification, outcome: Outcome, retry: Retry, now: dt.datetime) -> Delivery:
    match outcome:
        case Delivered():
            n.delivered_at = now
            n.next_attempt_at = None
            return Delivery(delivered=1)
        case Refused(reason=reason):
            _undelivered(n, Undelivered.REFUSED, reason, now)
            return Delivery(undelivered=1)
        case Deferred(reason=reason):
            n.attempts += 1
            if n.attempts >= retry.max_attempts:
                said = f"{n.attempts} attempts failed; the last: {reason}"
                _undelivered(n, Undelivered.UNREACHABLE, said, now)
                return Delivery(undelivered=1)
            n.next_attempt_at = now + retry.wait(n.attempts)
            n.undelivered_reason = reason[:REASON_LENGTH]  # why it waits, shown when it gives up
            return Delivery(deferred=1)


def _undelivered(n: Notification, why: Undelivered, reason: str, now: dt.datetime) -> None:
    n.undelivered = why
    n.undelivered_reason = reason[:REASON_LENGTH]
    n.undelivered_at = now
    n.next_attempt_at = None


def message(
    notification: Notification,
    title: str,
    mode: str,
    title_en: str | None = None,
    reasons: Sequence[ClauseLabel] = (),
) -> Message:
    """The notice in both languages: granted, will be granted (automatic) or how to redeem;
    then, when the policy labels its clauses, the conditions the firm met in plain words (all
    of them: it qualified). The values it read are on the firm's page: reading them here would
    evaluate every notified firm again."""
    if notification.kind == Kind.GRANTED:
        key = "promises.notice.granted"
    elif mode == "automatic":
        key = "promises.notice.will_grant"
    else:
        key = "promises.notice.one_click"
    amount = f"{notification.amount:,.2f}"
    zh = i18n.text("zh", key, title=title, amount=amount) + _reasons("zh", reasons)
    en = i18n.text("en", key, title=title_en or title, amount=amount) + _reasons("en", reasons)
    assert notification.id is not None
    return Message(
        key=f"notification-{notification.id}",
        uscc=notification.uscc,
        policy_id=notification.policy_id,
        kind=str(notification.kind),
        amount=Decimal(notification.amount),
        text_zh=zh,
        text_en=en,
        title_zh=title,
        title_en=title_en or title,
    )


def _reasons(language: i18n.Language, reasons: Sequence[ClauseLabel]) -> str:
    if not reasons:
        return ""
    joined = i18n.text(language, "promises.notice.reason_separator").join(
        r.get(language) for r in reasons
    )
    return i18n.text(language, "promises.notice.reasons", reasons=joined)


def of_firm(session: Session, uscc: str) -> list[Pending]:
    query = (
        select(Notification, col(Policy.title), col(Policy.title_en))
        .join(Policy, col(Policy.id) == col(Notification.policy_id))
        .where(col(Notification.uscc) == uscc)
        .order_by(col(Notification.id))
    )
    return _pending(session, session.execute(query).all())


def _pending(session: Session, rows: Sequence[Any]) -> list[Pending]:
    """Each notification with its policy's title, mode and clause labels (each policy's
    document read once)."""
    documents: dict[str, PolicyDocument] = {}
    for policy_id in {n.policy_id for n, *_ in rows}:
        documents[policy_id] = _latest(session, policy_id)
    return [
        Pending(n, title, title_en, documents[n.policy_id].mode, _labels(documents[n.policy_id]))
        for n, title, title_en in rows
    ]


def _labels(document: PolicyDocument) -> tuple[ClauseLabel, ...]:
    return tuple(document.clauses or ())


def _latest(session: Session, policy_id: str) -> PolicyDocument:
    policy = policy_repository.get(session, policy_id)
    assert policy is not None, "a notification names a stored policy"
    version = policy_repository.version(session, policy_id, policy.latest_version)
    assert version is not None, "a policy's latest version is stored"
    return published_document(version)


def undelivered(session: Session, *, offset: int = 0, limit: int = 100) -> list[Notification]:
    """The notices recorded as undelivered, oldest first."""
    query = (
        select(Notification)
        .where(col(Notification.undelivered).is_not(None))
        .order_by(col(Notification.id))
        .offset(offset)
        .limit(limit)
    )
    return list(session.execute(query).scalars())


def count_undelivered(session: Session) -> int:
    query = select(func.count()).where(col(Notification.undelivered).is_not(None))
    return int(session.execute(query).scalar_one())


def requeue(session: Session, notification_id: int, *, by: str) -> Notification:
    """Make an undelivered notice pending again (its firm's address was corrected, the relay
    fixed), attempts from zero; audited as `notification.requeue` by `by` in the caller's
    transaction."""
    found = session.get(Notification, notification_id, with_for_update=True)
    if found is None:
        raise NotificationNotFound(id=notification_id)
    if found.delivered_at is not None:
        raise NotUndelivered(code="notification.not_undelivered.delivered", id=notification_id)
    if found.undelivered is None:
        raise NotUndelivered(id=notification_id)
    before = {
        "undelivered": str(found.undelivered),
        "reason": found.undelivered_reason,
        "at": found.undelivered_at.isoformat() if found.undelivered_at else None,
        "attempts": found.attempts,
    }
    found.undelivered = None
    found.undelivered_reason = None
    found.undelivered_at = None
    found.attempts = 0
    found.next_attempt_at = None
    session.flush()
    audit.record(
        session,
        actor=by,
        action="notification.requeue",
        subject=f"notification:{notification_id}",
        before=before,
        after={"undelivered": None, "attempts": 0},
    )
    return found
