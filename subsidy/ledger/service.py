"""Posting movements to the ledger, in the caller's transaction (flush only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import insert
from sqlmodel import Session

from subsidy.db import utcnow
from subsidy.ledger.models import Account, LedgerEntry


@dataclass(frozen=True)
class Move:
    policy_id: str
    uscc: str
    redemption_id: int
    source: Account
    target: Account
    amount: Decimal
    memo: str
    payout_item_id: int | None = None


def post(session: Session, moves: Sequence[Move]) -> None:
    """Write each move as one balanced row; zero amounts are not movements and are skipped."""
    at = utcnow()
    rows = [
        {
            "at": at,
            "policy_id": m.policy_id,
            "uscc": m.uscc,
            "redemption_id": m.redemption_id,
            "payout_item_id": m.payout_item_id,
            "source": str(m.source),
            "target": str(m.target),
            "amount": m.amount,
            "memo": m.memo,
        }
        for m in moves
        if m.amount != 0
    ]
    if rows:
        session.execute(insert(LedgerEntry), rows)


def promised(
    policy_id: str, uscc: str, redemption_id: int, amount: Decimal, approved: bool
) -> list[Move]:
    """A new redemption: the budget reserves its amount, and approval makes it payable."""
    moves = [
        Move(policy_id, uscc, redemption_id, Account.BUDGET, Account.RESERVED, amount, "reserve")
    ]
    if approved:
        moves.append(
            Move(
                policy_id, uscc, redemption_id, Account.RESERVED, Account.PAYABLE, amount, "approve"
            )
        )
    return moves
