"""Approved redemptions waiting for a receiving account, and the account finance enters for them.

The enterprise registry owns bank accounts. A firm whose record gives none, or one no bank could
take (`banks.usable`), has its approved redemptions left out of every payout run (`gather`): they
wait here. Finance enters the receiving account for the firm (a `payee_account` row: payouts'
recorded override, never a change to the registry) and a second finance user confirms it, as a
corrected account after a return is released by another (`retry`): money is never sent to an
account one person alone chose. Only a confirmed entry pays (`repository.payable`), the next run
gathers the firm's waiting redemptions. Entering again replaces the entry and needs a new
confirmation. Flush only; every step audited with the account masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlmodel import Session, col

from payouts.banks import ACCOUNT
from payouts.errors import InvalidPayoutInput, MakerChecker, NotWaiting, PayoutNotFound
from payouts.models import PayeeAccount
from payouts.repository import confirmed_payee, receiving_account
from subsidy.actors import person
from subsidy.audit import service as audit
from subsidy.db import utcnow
from subsidy.masking import mask
from subsidy.redemption.models import Redemption, RedemptionStatus
from subsidy.registry.models import Enterprise

ENTER = "payee_account.enter"
CONFIRM = "payee_account.confirm"


@dataclass(frozen=True)
class Waiting:
    redemption_id: int
    uscc: str
    name: str | None
    policy_id: str
    amount: Decimal
    registry_account: str | None
    """What the registry holds (none, or one no bank takes), masked."""
    entered: PayeeAccount | None
    """Finance's entry for the firm, waiting for a second finance user's confirmation."""


def _unusable(account: Any, dialect: str) -> Any:
    """SQL: the account is missing or no bank could take it (the negation of `banks.usable`)."""
    not_digits = (
        account.op("~")("[^0-9]") if dialect == "postgresql" else account.op("GLOB")("*[^0-9]*")
    )
    return or_(account.is_(None), func.length(account) < 8, func.length(account) > 34, not_digits)


def _waiting_query(session: Session, *columns: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (
        select(*columns)
        .select_from(Redemption)
        .join(Enterprise, col(Enterprise.uscc) == col(Redemption.uscc), isouter=True)
        .join(PayeeAccount, confirmed_payee(), isouter=True)
        .where(
            col(Redemption.status) == RedemptionStatus.APPROVED,
            _unusable(receiving_account(), dialect),
        )
    )


def waiting(session: Session, *, offset: int, limit: int) -> tuple[list[Waiting], int]:
    """A page of the approved redemptions no payout run can pay, in id order, and how many."""
    total = session.execute(_waiting_query(session, func.count())).scalar_one()
    query = (
        _waiting_query(
            session,
            col(Redemption.id),
            col(Redemption.uscc),
            col(Enterprise.name),
            col(Redemption.policy_id),
            col(Redemption.amount),
            col(Enterprise.bank_account),
        )
        .order_by(col(Redemption.id))
        .offset(offset)
        .limit(limit)
    )
    rows = session.execute(query).all()
    entries = {
        e.uscc: e
        for e in session.execute(
            select(PayeeAccount).where(col(PayeeAccount.uscc).in_({r[1] for r in rows}))
        ).scalars()
    }
    found = [
        Waiting(int(i), u, n, p, Decimal(a), mask(acct) if acct else None, entries.get(u))
        for i, u, n, p, a, acct in rows
    ]
    return found, int(total)


def _is_waiting(session: Session, uscc: str) -> bool:
    query = _waiting_query(session, col(Redemption.id)).where(col(Redemption.uscc) == uscc)
    return session.execute(query.limit(1)).first() is not None


def enter(session: Session, uscc: str, account: str, *, by: str) -> PayeeAccount:
    """Record the account firm `uscc` is paid to (unconfirmed: another finance user confirms)."""
    account = "".join(account.split())
    if not ACCOUNT.fullmatch(account):
        raise InvalidPayoutInput(code="payout.bad_account", account=mask(account))
    if not _is_waiting(session, uscc):
        raise NotWaiting(uscc=uscc)
    entry = _locked(session, uscc)
    before = _audited(entry)
    if entry is None:
        entry = PayeeAccount(uscc=uscc, account=account, entered_by=by)
    entry.account, entry.entered_by, entry.entered_at = account, by, utcnow()
    entry.confirmed_by = entry.confirmed_at = None
    session.add(entry)
    session.flush()
    audit.record(
        session,
        actor=by,
        action=ENTER,
        subject=f"payee_account:{uscc}",
        before=before,
        after=_audited(entry),
    )
    return entry


def confirm(session: Session, uscc: str, *, by: str) -> PayeeAccount:
    """Confirm the entered account, as a finance user other than whoever entered it."""
    entry = _locked(session, uscc)
    if entry is None:
        raise PayoutNotFound(code="payout.not_found.account", uscc=uscc)
    if entry.confirmed_by is not None:
        raise NotWaiting(code="payout.account_confirmed", uscc=uscc, by=entry.confirmed_by)
    if person(entry.entered_by) == person(by):
        raise MakerChecker(code="payout.maker_checker.account", by=by, uscc=uscc)
    before = _audited(entry)
    entry.confirmed_by, entry.confirmed_at = by, utcnow()
    session.add(entry)
    session.flush()
    audit.record(
        session,
        actor=by,
        action=CONFIRM,
        subject=f"payee_account:{uscc}",
        before=before,
        after=_audited(entry),
    )
    return entry


def _locked(session: Session, uscc: str) -> PayeeAccount | None:
    query = (
        select(PayeeAccount)
        .where(col(PayeeAccount.uscc) == uscc)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    found: PayeeAccount | None = session.execute(query).scalars().first()
    return found


def _audited(entry: PayeeAccount | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {
        "account": mask(entry.account),
        "entered_by": entry.entered_by,
        "confirmed_by": entry.confirmed_by,
    }
