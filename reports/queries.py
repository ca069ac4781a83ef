"""What the disbursement report reads: exact aggregates in SQL, and rows streamed in chunks.

Every amount is summed by the database (NUMERIC on PostgreSQL, integer fen on SQLite) and comes
back as a Decimal, so a total in a workbook is the database's total to the fen. Long lists (the
ledger, the exceptions) are read by keyset pagination on the primary key, `chunk` rows a query,
and never held whole in memory.

What "in the period" means for a payout item: its value date (`paid_on`) when the bank paid it,
otherwise the day of its last change where users are (`subsidy.localtime`: Beijing time unless
set otherwise), as they would say it. Budget, reservations and ledger balances are as at the
report's time, whatever the period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    case,
    func,
    or_,
    select,
    type_coerce,
)
from sqlmodel import Session

from payouts.models import ItemState, PayoutItem, ReconciliationException, batch_ref, item_key
from policies.models import Policy
from subsidy import localtime
from subsidy.db import Money
from subsidy.ledger.models import Account, LedgerEntry
from subsidy.masking import mask
from subsidy.redemption.models import PolicyBudget
from subsidy.registry.models import Employee, Enterprise
from subsidy.settings import get_settings

ITEM: Table = PayoutItem.__table__  # type: ignore[attr-defined]
FIRM: Table = Enterprise.__table__  # type: ignore[attr-defined]
STAFF: Table = Employee.__table__  # type: ignore[attr-defined]
BUDGET: Table = PolicyBudget.__table__  # type: ignore[attr-defined]
POLICY: Table = Policy.__table__  # type: ignore[attr-defined]
LEDGER: Table = LedgerEntry.__table__  # type: ignore[attr-defined]
MISMATCH: Table = ReconciliationException.__table__  # type: ignore[attr-defined]

NOT_REGISTERED = "(not in registry)"
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Period:
    """Which payouts a report covers: a period of days (either end open) and one policy or all."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    policy_id: str | None = None

    def described(self) -> str:
        days = {
            (False, False): "all dates",
            (True, False): f"from {self.date_from}",
            (False, True): f"up to {self.date_to}",
            (True, True): f"{self.date_from} to {self.date_to}",
        }[(self.date_from is not None, self.date_to is not None)]
        return f"{days}, {f'policy {self.policy_id}' if self.policy_id else 'all policies'}"


def begin_snapshot(session: Session) -> None:
    """Make every later read of `session` see one snapshot of the database, so the totals and
    the ledger of one workbook agree even while payouts run. Call it first; once the session has
    begun (it is then already in its snapshot, or the caller chose otherwise) it does nothing."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        if not session.in_transaction():
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    elif dialect == "sqlite":
        # pysqlite only opens a transaction before a write; a deferred BEGIN takes the WAL
        # snapshot at the first read and keeps it until the session ends.
        connection = session.connection()
        raw = connection.connection.dbapi_connection
        if raw is not None and not raw.in_transaction:
            connection.exec_driver_sql("BEGIN")


def money(expression: Any) -> ColumnElement[Decimal]:
    """SUM of an amount expression, 0.00 for none, read back exactly as yuan."""
    return type_coerce(func.coalesce(func.sum(expression), 0), Money())


def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count(case((condition, 1)))


def in_period(period: Period) -> list[ColumnElement[bool]]:
    """The WHERE clauses selecting the payout items of `period`."""
    found: list[ColumnElement[bool]] = []
    if period.policy_id is not None:
        found.append(ITEM.c.policy_id == period.policy_id)
    if period.date_from is None and period.date_to is None:
        return found
    paid_on, changed = ITEM.c.paid_on, ITEM.c.updated_at
    by_value_date: list[ColumnElement[bool]] = [paid_on.is_not(None)]
    by_change: list[ColumnElement[bool]] = [paid_on.is_(None)]
    if period.date_from is not None:
        by_value_date.append(paid_on >= period.date_from)
        by_change.append(changed >= _midnight(period.date_from))
    if period.date_to is not None:
        by_value_date.append(paid_on <= period.date_to)
        by_change.append(changed < _midnight(period.date_to + dt.timedelta(days=1)))
    found.append(or_(and_(*by_value_date), and_(*by_change)))
    return found


def _midnight(day: dt.date) -> dt.datetime:
    """The moment a day begins where users are (00:00 in Beijing is 16:00 UTC the day before)."""
    return dt.datetime.combine(day, dt.time(), localtime.zone())


def count_items(session: Session, period: Period) -> int:
    stmt = select(func.count()).select_from(ITEM).where(*in_period(period))
    return int(session.execute(stmt).scalar_one())


# -- the summary -----------------------------------------------------------------------------------


@dataclass
class Line:
    """Payouts of one group in the period."""

    key: str
    paid: Decimal = ZERO
    returned: Decimal = ZERO
    items: int = 0
    """Items of the period, whatever their state."""
    items_paid: int = 0
    items_returned: int = 0
    firms_paid: int = 0
    employees_covered: int = 0
    """Employees on the current registry, not left, of the firms paid (each firm once)."""


@dataclass
class Summary:
    """The period's payouts per policy, per district, per industry section and in all."""

    policy: dict[str, Line] = field(default_factory=dict)
    district: dict[str, Line] = field(default_factory=dict)
    section: dict[str, Line] = field(default_factory=dict)
    total: Line = field(default_factory=lambda: Line(""))


def district_of(district: str | None) -> str:
    return district if district is not None else NOT_REGISTERED


def section_of(industry: str | None) -> str:
    """The GB/T 4754 section of an industry code: its first letter ("?" for no firm)."""
    return industry[:1] if industry else "?"


def summary(session: Session, period: Period) -> Summary:
    """Amounts and counts by SQL, grouped by policy, district and industry at once; the rows of
    that grouping are added up (exact Decimals) into each breakdown and the total. Firms paid
    and their employees come from two more queries: a firm lies in one district and one
    section, so its counts add up across them, but it may be paid under several policies.

    Groups are plain columns, rolled up here: an expression with parameters in GROUP BY (the
    section as `substr(industry, 1, 1)`) is not always matched to the same expression in the
    select list by PostgreSQL."""
    paid = ITEM.c.state == ItemState.PAID.value
    returned = ITEM.c.state == ItemState.RETURNED.value
    sums = (
        select(
            ITEM.c.policy_id,
            FIRM.c.district,
            FIRM.c.industry,
            money(case((paid, ITEM.c.amount))),
            money(case((returned, ITEM.c.amount))),
            func.count(),
            count_if(paid),
            count_if(returned),
        )
        .select_from(ITEM.outerjoin(FIRM, FIRM.c.uscc == ITEM.c.uscc))
        .where(*in_period(period))
        .group_by(ITEM.c.policy_id, FIRM.c.district, FIRM.c.industry)
    )
    found = Summary()
    for (
        pid,
        district,
        industry,
        paid_sum,
        returned_sum,
        items,
        n_paid,
        n_returned,
    ) in session.execute(sums):
        for line in (
            found.policy.setdefault(pid, Line(pid)),
            _line(found.district, district_of(district)),
            _line(found.section, section_of(industry)),
            found.total,
        ):
            line.paid += paid_sum
            line.returned += returned_sum
            line.items += int(items)
            line.items_paid += int(n_paid)
            line.items_returned += int(n_returned)
    for district, industry, firms, employees in session.execute(_reach(period, False)):
        for line in (
            _line(found.district, district_of(district)),
            _line(found.section, section_of(industry)),
            found.total,
        ):
            line.firms_paid += int(firms)
            line.employees_covered += int(employees or 0)
    for pid, firms, employees in session.execute(_reach(period, True)):
        line = found.policy.setdefault(pid, Line(pid))
        line.firms_paid, line.employees_covered = int(firms), int(employees or 0)
    return found


def _line(lines: dict[str, Line], key: str) -> Line:
    found = lines.get(key)
    if found is None:
        found = lines[key] = Line(key)
    return found


def _reach(period: Period, per_policy: bool) -> Select[Any]:
    """Distinct firms paid, and their current employees: per policy, or per district and
    industry (each firm counted once)."""
    paid = ITEM.c.state == ItemState.PAID.value
    columns = [ITEM.c.uscc] + ([ITEM.c.policy_id] if per_policy else [])
    firms = select(*columns).where(paid, *in_period(period)).distinct().subquery("paid_firms")
    staff = (
        select(STAFF.c.uscc, func.count().label("employees"))
        .where(STAFF.c.leave_date.is_(None))
        .group_by(STAFF.c.uscc)
        .subquery("staff")
    )
    keys: list[Any] = [firms.c.policy_id] if per_policy else [FIRM.c.district, FIRM.c.industry]
    return (
        select(*keys, func.count(), func.sum(func.coalesce(staff.c.employees, 0)))
        .select_from(
            firms.outerjoin(FIRM, FIRM.c.uscc == firms.c.uscc).outerjoin(
                staff, staff.c.uscc == firms.c.uscc
            )
        )
        .group_by(*keys)
    )


@dataclass(frozen=True)
class Day:
    day: dt.date
    items: int
    paid: Decimal


def paid_by_day(session: Session, period: Period) -> list[Day]:
    stmt = (
        select(ITEM.c.paid_on, func.count(), money(ITEM.c.amount))
        .where(ITEM.c.state == ItemState.PAID.value, *in_period(period))
        .group_by(ITEM.c.paid_on)
        .order_by(ITEM.c.paid_on)
    )
    return [Day(day, int(n), amount) for day, n, amount in session.execute(stmt)]


@dataclass(frozen=True)
class Budget:
    policy_id: str
    title: str
    title_en: str
    state: str
    budget: Decimal
    reserved: Decimal
    paid_to_date: Decimal
    """Items paid, whatever their date."""
    balances: dict[str, Decimal]
    """Ledger balance per account: what entered it minus what left it."""

    @property
    def remaining(self) -> Decimal:
        return self.budget - self.reserved

    def title_in(self, language: str) -> str:
        """As `Policy.title_in`: the English title for English, else the Chinese."""
        return self.title_en if language == "en" else self.title


def budgets(session: Session, policy_id: str | None) -> list[Budget]:
    """Every policy with a budget row (it has been redeemed at least once), as at now."""
    rows = session.execute(
        select(
            BUDGET.c.policy_id,
            POLICY.c.title,
            POLICY.c.title_en,
            POLICY.c.state,
            BUDGET.c.budget,
            BUDGET.c.reserved,
        )
        .select_from(BUDGET.join(POLICY, POLICY.c.id == BUDGET.c.policy_id))
        .where(*([BUDGET.c.policy_id == policy_id] if policy_id else []))
        .order_by(BUDGET.c.policy_id)
    ).all()
    paid = dict(
        session.execute(
            select(ITEM.c.policy_id, money(ITEM.c.amount))
            .where(ITEM.c.state == ItemState.PAID.value)
            .where(*([ITEM.c.policy_id == policy_id] if policy_id else []))
            .group_by(ITEM.c.policy_id)
        ).all()
    )
    balances = ledger_balances(session, policy_id)
    return [
        Budget(
            pid,
            title,
            title_en,
            state,
            budget,
            reserved,
            paid.get(pid, ZERO),
            balances.get(pid, dict.fromkeys(ACCOUNTS, ZERO)),
        )
        for pid, title, title_en, state, budget, reserved in rows
    ]


ACCOUNTS = [Account.RESERVED, Account.PAYABLE, Account.PAID, Account.RECEIVABLE]


def ledger_balances(session: Session, policy_id: str | None) -> dict[str, dict[str, Decimal]]:
    """Per policy, each account's balance: the sum of what entered it minus what left it."""
    stmt = (
        select(LEDGER.c.policy_id, LEDGER.c.source, LEDGER.c.target, money(LEDGER.c.amount))
        .where(*([LEDGER.c.policy_id == policy_id] if policy_id else []))
        .group_by(LEDGER.c.policy_id, LEDGER.c.source, LEDGER.c.target)
    )
    found: dict[str, dict[str, Decimal]] = {}
    for pid, source, target, amount in session.execute(stmt):
        balances = found.setdefault(pid, dict.fromkeys(ACCOUNTS, ZERO))
        if target in balances:
            balances[target] += amount
        if source in balances:
            balances[source] -= amount
    return found


# -- the lists -------------------------------------------------------------------------------------

LedgerRow = tuple[Any, ...]


def _item_date(paid_on: dt.date | None, updated_at: dt.datetime | None) -> dt.date:
    if paid_on is not None:
        return paid_on
    assert updated_at is not None  # UNPAID_CHANGED reads it whenever paid_on is missing
    return localtime.local_date(updated_at)


def _chunks(
    session: Session, stmt: Select[Any], key: Any, chunk: int | None
) -> Iterator[Sequence[Any]]:
    """The rows of `stmt` in primary-key order, `chunk` per query (keyset pagination;
    QINQING_REPORT_QUERY_CHUNK)."""
    chunk = chunk or get_settings().report_query_chunk
    last: int | None = None
    while True:
        page = stmt if last is None else stmt.where(key > last)
        rows = session.execute(page.order_by(key).limit(chunk)).all()
        yield from rows
        if len(rows) < chunk:
            return
        last = rows[-1][0]


UNPAID_CHANGED = case((ITEM.c.paid_on.is_(None), ITEM.c.updated_at))
"""The time an item last changed, read only when it has no payment date: it is the item's date
then, and parsing a million timestamps nobody shows costs seconds."""

LEDGER_COLUMNS = (
    ITEM.c.id,
    ITEM.c.batch_id,
    ITEM.c.paid_on,
    UNPAID_CHANGED,
    ITEM.c.policy_id,
    ITEM.c.uscc,
    ITEM.c.payee_name,
    FIRM.c.district,
    FIRM.c.industry,
    ITEM.c.bank_code,
    ITEM.c.account,
    ITEM.c.amount,
    ITEM.c.offset,
    ITEM.c.net,
    ITEM.c.state,
    ITEM.c.bank_reference,
)


def ledger_rows(session: Session, period: Period, chunk: int | None = None) -> Iterator[LedgerRow]:
    """One row per payout item of the period, in item order, the account masked:
    date, batch, item, policy, USCC, payee, district, industry, bank, account, amount, offset,
    net, state, bank reference."""
    stmt = (
        select(*LEDGER_COLUMNS)
        .select_from(ITEM.outerjoin(FIRM, FIRM.c.uscc == ITEM.c.uscc))
        .where(*in_period(period))
    )
    for (
        item_id,
        batch_id,
        paid_on,
        updated_at,
        policy_id,
        uscc,
        payee,
        district,
        industry,
        bank,
        account,
        amount,
        offset,
        net,
        state,
        reference,
    ) in _chunks(session, stmt, ITEM.c.id, chunk):
        yield (
            _item_date(paid_on, updated_at),
            batch_ref(batch_id),
            item_key(item_id),
            policy_id,
            uscc,
            payee,
            district if district is not None else NOT_REGISTERED,
            industry,
            bank,
            mask(account),
            amount,
            offset,
            net,
            state,
            reference,
        )


def exception_items(
    session: Session, period: Period, chunk: int | None = None
) -> Iterator[LedgerRow]:
    """Returned and failed items of the period: date, item, policy, USCC, payee, district,
    account, amount, state, attempts, reason code, reason, bank reference."""
    stmt = (
        select(
            ITEM.c.id,
            ITEM.c.paid_on,
            UNPAID_CHANGED,
            ITEM.c.policy_id,
            ITEM.c.uscc,
            ITEM.c.payee_name,
            FIRM.c.district,
            ITEM.c.account,
            ITEM.c.amount,
            ITEM.c.state,
            ITEM.c.attempts,
            ITEM.c.reason_code,
            ITEM.c.reason,
            ITEM.c.bank_reference,
        )
        .select_from(ITEM.outerjoin(FIRM, FIRM.c.uscc == ITEM.c.uscc))
        .where(ITEM.c.state.in_(EXCEPTION_STATES), *in_period(period))
    )
    for row in _chunks(session, stmt, ITEM.c.id, chunk):
        item_id, paid_on, updated_at, policy_id, uscc, payee, district, account, *rest = row
        yield (
            _item_date(paid_on, updated_at),
            item_key(item_id),
            policy_id,
            uscc,
            payee,
            district if district is not None else NOT_REGISTERED,
            mask(account),
            *rest,
        )


EXCEPTION_STATES = (ItemState.RETURNED.value, ItemState.FAILED.value)


def exception_totals(session: Session, period: Period) -> tuple[int, Decimal]:
    stmt = select(func.count(), money(ITEM.c.amount)).where(
        ITEM.c.state.in_(EXCEPTION_STATES), *in_period(period)
    )
    n, amount = session.execute(stmt).one()
    return int(n), amount


def _mismatch_filter(period: Period) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if period.policy_id is not None:
        where.append(ITEM.c.policy_id == period.policy_id)
    if period.date_from is not None:
        where.append(MISMATCH.c.created_at >= _midnight(period.date_from))
    if period.date_to is not None:
        where.append(MISMATCH.c.created_at < _midnight(period.date_to + dt.timedelta(days=1)))
    return where


def mismatches(session: Session, period: Period, chunk: int | None = None) -> Iterator[LedgerRow]:
    """Reconciliation exceptions recorded in the period (for one policy: those of its items):
    found at, statement, line, kind, item, policy, USCC, bank reference, amount, expected,
    difference, detail, resolved at, resolved by."""
    stmt = (
        select(
            MISMATCH.c.id,
            MISMATCH.c.created_at,
            MISMATCH.c.statement,
            MISMATCH.c.line,
            MISMATCH.c.kind,
            MISMATCH.c.payout_item_id,
            ITEM.c.policy_id,
            ITEM.c.uscc,
            MISMATCH.c.bank_reference,
            MISMATCH.c.amount,
            MISMATCH.c.expected,
            MISMATCH.c.detail,
            MISMATCH.c.resolved_at,
            MISMATCH.c.resolved_by,
        )
        .select_from(MISMATCH.outerjoin(ITEM, ITEM.c.id == MISMATCH.c.payout_item_id))
        .where(*_mismatch_filter(period))
    )
    for row in _chunks(session, stmt, MISMATCH.c.id, chunk):
        (_, at, statement, line, kind, item_id, policy_id, uscc, reference, amount, expected,
         detail, resolved_at, resolved_by) = row  # fmt: skip
        difference = amount - expected if amount is not None and expected is not None else None
        yield (
            at,
            statement,
            line,
            kind,
            item_key(item_id) if item_id is not None else None,
            policy_id,
            uscc,
            reference,
            amount,
            expected,
            difference,
            detail,
            resolved_at,
            resolved_by,
        )


def mismatch_totals(session: Session, period: Period) -> tuple[int, Decimal, Decimal, Decimal]:
    """Count, amounts, expected amounts and differences (where both are known)."""
    stmt = (
        select(
            func.count(),
            money(MISMATCH.c.amount),
            money(MISMATCH.c.expected),
            money(MISMATCH.c.amount - MISMATCH.c.expected),
        )
        .select_from(MISMATCH.outerjoin(ITEM, ITEM.c.id == MISMATCH.c.payout_item_id))
        .where(*_mismatch_filter(period))
    )
    n, amount, expected, difference = session.execute(stmt).one()
    return int(n), amount, expected, difference
