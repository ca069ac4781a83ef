"""Reconciliation: the bank's statement against our payout items; what differs goes to finance.

Each statement line is matched to a payout item by our idempotency key (`QQ-P<id>`, when the
bank echoed it), else by the bank's reference. What does not fit becomes a
`ReconciliationException` row for finance to resolve:

    unmatched            a line no payout item answers to
    duplicate            a second payment (or return) line for the same item: later on the same
                         statement, or on a later statement with another bank transaction (below)
    amount_mismatch      the line's amount is not the item's net amount
    unrecorded_payment   the bank paid an item we do not hold as paid (nor returned)
    unrecorded_return    the bank returned an item we do not hold as returned
    not_on_statement     an item we hold as paid on a day the statement covers (its first to its
                         last value date), absent from it; offset-only items (net 0) excepted

Across statements. Every matched line is remembered (`statement_line`: file, row, kind, item,
bank reference, amount, value date), because the bank may pay an item twice with the two lines
on two files (Monday's and Tuesday's). A line for an item that an earlier statement already had a
line of the same kind for is either

    the same transaction again   overlapping statements repeat a line: the same bank reference,
                                 amount and value date as an earlier line. Nothing is recorded
                                 (whatever was wrong with it was recorded the first time); the
                                 result counts it as `already_seen`, and its item is on this
                                 statement as far as `not_on_statement` is concerned
    a second payment             anything else: a `duplicate` naming the earliest earlier line's
                                 file and row, and the two bank references

Only the bank reference can say two lines are one transaction: our key is the same on every
payment of an item, and a second payment of an item has the same amount and often the same day.
So a line with no reference to compare (the file format requires one; were it ever empty) is a
second payment, and so is the same reference with another amount or value date (one bank
transaction has one amount and one day): a needless look by finance costs less than a double
payment nobody notices. Lines that match no item are not remembered: an overlapping statement
reports an unmatched line again. `not_on_statement` stays a statement's own: it compares the
items paid in the file's span with the file's lines, whatever earlier files held.

Nothing here moves money: the submission core learns of payments and returns from the bank
(`query`) and posts them; reconciliation only reports. A statement is known by its SHA-256:
reconciling the same file again records nothing (the first run is in the audit trail, subject
`bank-statement:<sha256>`).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import insert, select
from sqlmodel import Session, col

from payouts.errors import AlreadyResolved, PayoutNotFound
from payouts.models import (
    ITEM_KEY,
    ExceptionKind,
    ItemState,
    PayoutItem,
    ReconciliationException,
    StatementLineRecord,
    item_key,
)
from payouts.statement import StatementLine, read_statement
from subsidy import localtime
from subsidy.audit import service as audit
from subsidy.audit.models import AuditEntry, AuditHead
from subsidy.db import utcnow
from subsidy.redemption.changes import check_reason
from subsidy.settings import get_settings

RECONCILE = "payouts.reconcile"
RESOLVE = "reconciliation.resolve"
KEY = ITEM_KEY


class _Item(NamedTuple):
    id: int
    state: str
    net: Decimal
    bank_reference: str | None

    @property
    def key(self) -> str:
        return item_key(self.id)


class _StatementFile(NamedTuple):
    name: str
    sha256: str
    reconciled_at: datetime


@dataclass(frozen=True)
class Reconciliation:
    statement: str
    """The file's name and SHA-256, as the exceptions record it."""
    lines: int
    matched: int
    """Lines matched to a payout item (whatever else was wrong with them)."""
    exceptions: dict[str, int] = field(default_factory=dict)
    """New exceptions by kind."""
    repeated: bool = False
    """The same file was reconciled before; nothing was recorded this time."""
    period: tuple[date, date] | None = None
    already_seen: int = 0
    """Matched lines that repeat a line of an earlier statement (same transaction): no exception."""


class _Earlier(NamedTuple):
    """A line an earlier statement had for an item (a `statement_line` row)."""

    file: str
    line: int
    bank_reference: str
    amount: Decimal
    value_date: date


@dataclass
class _Findings:
    """What the lines of one statement come to."""

    exceptions: list[dict[str, Any]] = field(default_factory=list)
    remembered: list[dict[str, Any]] = field(default_factory=list)
    """The matched lines, as `statement_line` rows."""
    paid_items: set[int] = field(default_factory=set)
    """Items with a payment line on this statement (for `not_on_statement`)."""
    already_seen: int = 0


def statement_name(path: Path, digest: str) -> str:
    return f"{path.name} sha256:{digest}"


def reconcile(session: Session, path: Path, *, by: str) -> Reconciliation:
    """Reconcile the statement file at `path` as `by` (flush only; `BankFileError` when the file
    cannot be read, with every problem located)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    lines = read_statement(path)
    name = statement_name(path, digest)
    period = (min(x.value_date for x in lines), max(x.value_date for x in lines)) if lines else None
    if _reconciled_before(session, digest):
        return Reconciliation(name, len(lines), 0, repeated=True, period=period)
    items = _items_for(session, lines)
    # Read only now, under the audit head's lock `_reconciled_before` took: a statement being
    # reconciled at the same time has committed its lines before we get here (or waits for us to
    # commit ours), so of two files paying the same item, the later one always sees the earlier.
    earlier = _earlier_lines(session, _item_ids(items))
    found = _check_lines(name, _StatementFile(path.name, digest, utcnow()), lines, items, earlier)
    if period is not None:
        found.exceptions += _missing(session, name, period, found.paid_items)
    if found.exceptions:
        session.execute(insert(ReconciliationException), found.exceptions)
    if found.remembered:
        session.execute(insert(StatementLineRecord), found.remembered)
    kinds = dict(sorted(Counter(str(r["kind"]) for r in found.exceptions).items()))
    matched = len(found.remembered)
    audit.record(
        session,
        actor=by,
        action=RECONCILE,
        subject=f"bank-statement:{digest}",
        after={
            "file": path.name,
            "lines": len(lines),
            "matched": matched,
            "already_seen": found.already_seen,
            "exceptions": kinds,
            "from": period[0] if period else None,
            "to": period[1] if period else None,
        },
    )
    return Reconciliation(
        name, len(lines), matched, kinds, period=period, already_seen=found.already_seen
    )


def _check_lines(
    name: str,
    statement: _StatementFile,
    lines: Sequence[StatementLine],
    items: dict[str, dict[Any, _Item]],
    earlier: dict[tuple[int, str], list[_Earlier]],
) -> _Findings:
    """Each line matched, compared with the earlier statements' lines for its item and with this
    statement's earlier rows, and checked against its item."""
    found = _Findings()
    first_row: dict[tuple[int, str], int] = {}
    for number, line in enumerate(lines, start=1):
        row = line.row or number
        item = _match(line, items)
        if item is None:
            found.exceptions.append(_unmatched(name, row, line))
            continue
        found.remembered.append(_remembered(statement, row, line, item))
        if line.kind == "payment":
            found.paid_items.add(item.id)
        before = earlier.get((item.id, line.kind), [])
        first = first_row.setdefault((item.id, line.kind), row)
        if any(_same_transaction(line, x) for x in before):
            found.already_seen += 1
        elif before:
            found.exceptions.append(_second_across_statements(name, row, line, item, before[0]))
        elif first != row:
            detail = f"a second {line.kind} of {item.key} on the statement (first on row {first})"
            found.exceptions.append(_row(name, row, ExceptionKind.DUPLICATE, item, line, detail))
        else:
            found.exceptions += _line_problems(name, row, line, item)
    return found


def _earlier_lines(
    session: Session, item_ids: Iterable[int]
) -> dict[tuple[int, str], list[_Earlier]]:
    """The lines earlier statements had for these items, by (item, kind), oldest first."""
    table = StatementLineRecord
    columns = (
        col(table.payout_item_id),
        col(table.kind),
        col(table.statement_file),
        col(table.line),
        col(table.bank_reference),
        col(table.amount),
        col(table.value_date),
    )
    found: dict[tuple[int, str], list[_Earlier]] = {}
    for chunk in _chunks(sorted(item_ids)):
        query = select(*columns).where(col(table.payout_item_id).in_(chunk)).order_by(col(table.id))
        for item_id, kind, *rest in session.execute(query):
            found.setdefault((item_id, kind), []).append(_Earlier(*rest))
    return found


def _same_transaction(line: StatementLine, earlier: _Earlier) -> bool:
    """The bank's reference identifies a transaction; without one, nothing proves two lines are
    one (see the module docstring)."""
    return (
        bool(line.bank_reference)
        and line.bank_reference == earlier.bank_reference
        and line.amount == earlier.amount
        and line.value_date == earlier.value_date
    )


def _second_across_statements(
    name: str, row: int, line: StatementLine, item: _Item, first: _Earlier
) -> dict[str, Any]:
    detail = (
        f"a second {line.kind} of {item.key}: bank reference {line.bank_reference} here, "
        f"{first.bank_reference} in statement {first.file} row {first.line}"
    )
    if line.bank_reference == first.bank_reference:
        detail += (
            f" ({line.amount} on {line.value_date} here, "
            f"{first.amount} on {first.value_date} there)"
        )
    return _row(name, row, ExceptionKind.DUPLICATE, item, line, detail)


def _remembered(
    statement: _StatementFile, row: int, line: StatementLine, item: _Item
) -> dict[str, Any]:
    return {
        "statement_sha256": statement.sha256,
        "statement_file": statement.name,
        "line": row,
        "kind": line.kind,
        "payout_item_id": item.id,
        "bank_reference": line.bank_reference,
        "amount": line.amount,
        "value_date": line.value_date,
        "reconciled_at": statement.reconciled_at,
    }


def _reconciled_before(session: Session, digest: str) -> bool:
    """Whether a statement with this SHA-256 was reconciled. The audit chain's head is locked
    first: a second reconciliation of the same file waits for the first to commit, then sees it."""
    session.execute(select(AuditHead).where(col(AuditHead.id) == 1).with_for_update())
    query = (
        select(col(AuditEntry.id))
        .where(
            col(AuditEntry.action) == RECONCILE,
            col(AuditEntry.subject) == f"bank-statement:{digest}",
        )
        .limit(1)
    )
    return session.execute(query).first() is not None


def _items_for(session: Session, lines: Sequence[StatementLine]) -> dict[str, dict[Any, _Item]]:
    """The payout items the lines name: by id (from the key) and by bank reference (only for the
    lines whose key names no item)."""
    columns = (
        col(PayoutItem.id),
        col(PayoutItem.state),
        col(PayoutItem.net),
        col(PayoutItem.bank_reference),
    )
    ids = sorted({i for x in lines if (i := _key_id(x)) is not None})
    by_id: dict[Any, _Item] = {}
    for chunk in _chunks(ids):
        query = select(*columns).where(col(PayoutItem.id).in_(chunk))
        by_id.update((row[0], _Item(*row)) for row in session.execute(query))
    references = sorted({x.bank_reference for x in lines if _key_id(x) not in by_id})
    by_reference: dict[Any, _Item] = {}
    for chunk in _chunks(references):
        query = (
            select(*columns)
            .where(col(PayoutItem.bank_reference).in_(chunk))
            .order_by(col(PayoutItem.id))
        )
        by_reference.update((row[3], _Item(*row)) for row in session.execute(query))
    return {"id": by_id, "reference": by_reference}


MAX_ID = 2**31 - 1  # the id column's range: a larger "id" names no item, whatever a bank wrote


def _key_id(line: StatementLine) -> int | None:
    found = KEY.fullmatch(line.idempotency_key or "")
    item_id = int(found.group(1)) if found else None
    return item_id if item_id is not None and item_id <= MAX_ID else None


def _item_ids(items: dict[str, dict[Any, _Item]]) -> set[int]:
    return {item.id for found in items.values() for item in found.values()}


def _match(line: StatementLine, items: dict[str, dict[Any, _Item]]) -> _Item | None:
    return items["id"].get(_key_id(line)) or items["reference"].get(line.bank_reference)


def _line_problems(name: str, row: int, line: StatementLine, item: _Item) -> list[dict[str, Any]]:
    found = []
    if line.amount != item.net:
        detail = f"{line.kind} of {item.key}: {line.amount} on the statement, net {item.net} here"
        found.append(_row(name, row, ExceptionKind.AMOUNT_MISMATCH, item, line, detail))
    if line.kind == "payment" and item.state not in (ItemState.PAID, ItemState.RETURNED):
        detail = f"the bank paid {item.key}, which is {item.state} here"
        found.append(_row(name, row, ExceptionKind.UNRECORDED_PAYMENT, item, line, detail))
    if line.kind == "return" and item.state != ItemState.RETURNED:
        detail = f"the bank returned {item.key}, which is {item.state} here"
        found.append(_row(name, row, ExceptionKind.UNRECORDED_RETURN, item, line, detail))
    return found


def _missing(
    session: Session, name: str, period: tuple[date, date], seen: set[int]
) -> list[dict[str, Any]]:
    """Items paid here on a day the statement covers, with no payment line on it (an item the
    firm's debt covered entirely, net 0, moved no money at the bank)."""
    query = (
        select(
            col(PayoutItem.id),
            col(PayoutItem.net),
            col(PayoutItem.bank_reference),
            col(PayoutItem.paid_on),
        )
        .where(
            col(PayoutItem.state) == ItemState.PAID,
            col(PayoutItem.paid_on) >= period[0],
            col(PayoutItem.paid_on) <= period[1],
            col(PayoutItem.net) > Decimal("0.00"),
        )
        .order_by(col(PayoutItem.id))
    )
    return [
        _exception(
            name,
            None,
            ExceptionKind.NOT_ON_STATEMENT,
            item_id=item_id,
            reference=reference,
            amount=None,
            expected=net,
            detail=f"{item_key(item_id)} was paid on {paid_on} here; the statement has no payment",
        )
        for item_id, net, reference, paid_on in session.execute(query)
        if item_id not in seen
    ]


def _unmatched(name: str, row: int, line: StatementLine) -> dict[str, Any]:
    key = f"key {line.idempotency_key}" if line.idempotency_key else "no key"
    detail = f"a {line.kind} with {key} and bank reference {line.bank_reference}: no payout item"
    return _exception(
        name,
        row,
        ExceptionKind.UNMATCHED,
        item_id=None,
        reference=line.bank_reference,
        amount=line.amount,
        expected=None,
        detail=detail,
    )


def _row(
    name: str, row: int, kind: ExceptionKind, item: _Item, line: StatementLine, detail: str
) -> dict[str, Any]:
    return _exception(
        name,
        row,
        kind,
        item_id=item.id,
        reference=line.bank_reference,
        amount=line.amount,
        expected=item.net,
        detail=detail,
    )


def _exception(
    name: str,
    row: int | None,
    kind: ExceptionKind,
    *,
    item_id: int | None,
    reference: str | None,
    amount: Decimal | None,
    expected: Decimal | None,
    detail: str,
) -> dict[str, Any]:
    return {
        "statement": name,
        "line": row,
        "kind": str(kind),
        "payout_item_id": item_id,
        "bank_reference": reference,
        "amount": amount,
        "expected": expected,
        "detail": detail,
        "created_at": utcnow(),
    }


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    """`values` in slices an IN list may bind (QINQING_IN_LIST_BOUND)."""
    bound = get_settings().in_list_bound
    for start in range(0, len(values), bound):
        yield values[start : start + bound]


# --- finance resolves ------------------------------------------------------------------------


def resolve(session: Session, exception_id: int, note: str, *, by: str) -> ReconciliationException:
    """Mark an exception resolved by `by`, with what was done about it (audited)."""
    note = check_reason(note)
    query = (
        select(ReconciliationException)
        .where(col(ReconciliationException.id) == exception_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    found: ReconciliationException | None = session.execute(query).scalars().first()
    if found is None:
        raise PayoutNotFound(code="payout.not_found.exception", exception_id=exception_id)
    if found.resolved_at is not None:
        raise AlreadyResolved(
            exception_id=exception_id,
            by=found.resolved_by,
            at=localtime.shown(found.resolved_at),
            zone=localtime.zone_name(),
        )
    found.resolved_at, found.resolved_by = utcnow(), by
    session.add(found)
    session.flush()
    audit.record(
        session,
        actor=by,
        action=RESOLVE,
        subject=f"reconciliation-exception:{exception_id}",
        before={"kind": found.kind, "detail": found.detail, "statement": found.statement},
        after={"resolved_by": by, "note": note},
    )
    return found
