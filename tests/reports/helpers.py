"""Payout data for report tests, inserted directly with the models (redemptions through the real
service), so the reports are tested whatever the state of the payout service."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from payouts.models import (
    BatchState,
    ExceptionKind,
    ItemState,
    PayoutBatch,
    PayoutItem,
    ReconciliationException,
)
from subsidy import db
from subsidy.ledger import service as ledger
from subsidy.ledger.models import Account
from subsidy.redemption.models import Redemption
from subsidy.registry.models import Enterprise
from tests.redemption.helpers import flat, load_registry, publish, redeem

UTC = dt.UTC
PAYABLE, PAID = Account.PAYABLE, Account.PAID
FORMULA_NAME = '=HYPERLINK("http://x","y")'
HOSTILE_NAMES = (FORMULA_NAME, "@SUM(A1:A9)", "-1+2", "#N/A", "bell\x07name")


@dataclass(frozen=True)
class Payouts:
    usccs: list[str]
    policies: list[str]


def build_payouts(engine: Engine, data_dir: Path, folder: Path) -> Payouts:
    """Three policies (one never paid), redemptions of 60 firms, one batch of items in every
    state (some returned and paid again later, some with an offset), ledger postings, and
    reconciliation exceptions; a few payees named to look like formulas."""
    active = load_registry(engine, data_dir, folder, 80)
    publish(engine, flat("rep-a", 1000, 1_000_000))
    publish(engine, flat("rep-b", 1, 10_000_000).model_copy(update={"amount": "2500.55"}))
    publish(engine, flat("rep-c", 300, 50_000))
    plan = [("rep-a", u) for u in active[:40]] + [("rep-b", u) for u in active[20:50]]
    plan += [("rep-c", u) for u in active[50:55]]
    for n, (policy_id, uscc) in enumerate(plan):
        redeem(engine, uscc, policy_id, f"report-key-{n:06d}")
    with db.session_scope(engine) as session:
        _items(session)
    return Payouts(active, ["rep-a", "rep-b", "rep-c"])


def _items(session: Session) -> None:
    redemptions = (
        session.execute(
            select(Redemption)
            .where(col(Redemption.policy_id) != "rep-c")
            .order_by(col(Redemption.id))
        )
        .scalars()
        .all()
    )
    names = {e.uscc: e.name for e in session.execute(select(Enterprise)).scalars()}
    batch = PayoutBatch(bank_code="ICBC", state=BatchState.OPEN, items=0, total=Decimal("0.00"))
    session.add(batch)
    session.flush()
    assert batch.id is not None
    items: list[PayoutItem] = []
    for i, r in enumerate(redemptions):
        assert r.id is not None
        kind = i % 6
        state = [ItemState.PAID] * 3 + [ItemState.RETURNED, ItemState.FAILED, ItemState.PENDING]
        offset = Decimal("100.00") if kind == 0 and i % 4 == 0 else Decimal("0.00")
        item = PayoutItem(
            batch_id=batch.id,
            redemption_id=r.id,
            policy_id=r.policy_id,
            uscc=r.uscc,
            payee_name=HOSTILE_NAMES[i // 6] if i % 6 == 1 and i // 6 < 5 else names[r.uscc],
            bank_code="ICBC",
            account=f"62220200{i:011d}",
            amount=r.amount,
            offset=offset,
            net=r.amount - offset,
            state=state[kind],
            attempts=1 + kind % 3,
            bank_reference=f"BK{i:010d}" if kind < 3 else None,
            reason_code="R01" if kind == 3 else ("T02" if kind == 4 else None),
            reason="account closed" if kind == 3 else ("bank busy" if kind == 4 else None),
            paid_on=dt.date(2026, 3, 1 + i % 10) if kind < 3 else None,
            # the last change of unpaid items: 23:30 and 00:30 in Beijing (15:30 and 16:30 UTC),
            # to test the day boundary where users are
            updated_at=dt.datetime(2026, 3, 14, 15, 30, tzinfo=UTC) + dt.timedelta(hours=i % 2),
        )
        items.append(item)
        if kind == 3:  # returned, corrected and paid again by a later item
            items.append(
                PayoutItem(
                    batch_id=batch.id,
                    redemption_id=r.id,
                    policy_id=r.policy_id,
                    uscc=r.uscc,
                    payee_name=names[r.uscc],
                    bank_code="ICBC",
                    account=f"62220299{i:011d}",
                    amount=r.amount,
                    offset=Decimal("0.00"),
                    net=r.amount,
                    state=ItemState.PAID,
                    attempts=1,
                    bank_reference=f"BK9{i:09d}",
                    paid_on=dt.date(2026, 3, 20),
                )
            )
    session.add_all(items)
    session.flush()
    moves = [
        ledger.Move(
            it.policy_id, it.uscc, it.redemption_id, PAYABLE, PAID, it.amount, "paid", it.id
        )
        for it in items
        if it.state == ItemState.PAID
    ]
    ledger.post(session, moves)
    paid = [it for it in items if it.state == ItemState.PAID]
    session.add_all(
        [
            ReconciliationException(
                statement="stmt-2026-03-02.csv sha256:ab12",
                line=4,
                kind=ExceptionKind.AMOUNT_MISMATCH,
                payout_item_id=paid[0].id,
                bank_reference=paid[0].bank_reference,
                amount=paid[0].amount - Decimal("0.01"),
                expected=paid[0].amount,
                detail="the bank paid a fen less",
                created_at=dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
            ),
            ReconciliationException(
                statement="stmt-2026-03-02.csv sha256:ab12",
                line=9,
                kind=ExceptionKind.UNMATCHED,
                bank_reference="BK-UNKNOWN",
                amount=Decimal("77.70"),
                detail=FORMULA_NAME,
                created_at=dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
            ),
            ReconciliationException(
                statement="stmt-2026-03-21.csv sha256:cd34",
                kind=ExceptionKind.NOT_ON_STATEMENT,
                payout_item_id=paid[-1].id,
                expected=paid[-1].amount,
                detail="paid here, absent from the statement",
                created_at=dt.datetime(2026, 3, 21, 9, 0, tzinfo=UTC),
                resolved_at=dt.datetime(2026, 3, 22, 10, 0, tzinfo=UTC),
                resolved_by="finance:lin",
            ),
        ]
    )
    session.flush()


def read_book(path: Path) -> Any:
    return openpyxl.load_workbook(path)


def table_rows(sheet: Any, name: str) -> tuple[list[str], list[list[Any]], list[Any]]:
    """A table's header, its data rows (cell values) and the row just below it (the total)."""
    table = sheet.tables[name]
    cells = sheet[table.ref]
    header = [c.value for c in cells[0]]
    rows = [[c.value for c in row] for row in cells[1:]]
    if rows and rows[0][0] == "(none)":
        rows = []
    last = sheet[table.ref.split(":")[1]].row
    below = [c.value for c in sheet[last + 1][: len(header)]]
    return header, rows, below
