"""Real redemptions for the finance tests, and stand-ins for the submission core's steps.

`World` publishes two flat one-click policies over a small demo registry: `p-flat` (1,000 yuan,
approved at once) and `p-review` (5,000 yuan, above its 1,000 review threshold: held). The
payment steps below do to the tables and the ledger what the payout run does (gather a redemption
into a batch, the bank pays or returns it), with the same moves, so the tests can reach every
status without the lead's service.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from payouts.models import BatchState, ItemState, PayoutBatch, PayoutItem
from subsidy import db
from subsidy.ledger.models import Account
from subsidy.ledger.service import Move, post
from subsidy.redemption.models import Redemption, RedemptionStatus
from tests.redemption.helpers import TODAY, flat, load_registry, publish, redeem

ZERO = Decimal("0.00")
FLAT, REVIEW = "p-flat", "p-review"
FLAT_YUAN, REVIEW_YUAN = Decimal("1000.00"), Decimal("5000.00")
REGISTRY_ACCOUNT = "6222020000000000001"


@dataclass
class World:
    engine: Engine
    firms: list[str]
    """Active firms of the demo registry, USCC order."""

    def redeem(self, firm: int, policy: str = FLAT) -> int:
        """Firm number `firm` redeems `policy`; the redemption's id."""
        done = redeem(self.engine, self.firms[firm], policy, f"key-{policy}-{firm}")
        assert done.redemption.id is not None
        return done.redemption.id

    def get(self, redemption_id: int) -> Redemption:
        with Session(self.engine) as session:
            found = session.get(Redemption, redemption_id)
            assert found is not None
            return found


def make_world(engine: Engine, data_dir: Path, folder: Path, firms: int = 40) -> World:
    active = sorted(load_registry(engine, data_dir, folder, firms))
    publish(engine, flat(FLAT, int(FLAT_YUAN), 1_000_000))
    review = flat(REVIEW, int(REVIEW_YUAN), 1_000_000)
    publish(engine, review.model_copy(update={"review_threshold": Decimal(1000)}))
    return World(engine, active)


# --- what the submission core does ---------------------------------------------------------------


def gather(session: Session, redemption_id: int, offset: Decimal = ZERO) -> PayoutItem:
    """approved -> paying, in a new one-item batch (submitted), `offset` of a receivable taken
    off what the bank is asked to pay."""
    redemption = session.get(Redemption, redemption_id)
    assert redemption is not None
    assert redemption.status == RedemptionStatus.APPROVED
    net = redemption.amount - offset
    batch = PayoutBatch(bank_code="ICBC", state=BatchState.OPEN, items=1, total=net)
    session.add(batch)
    session.flush()
    assert batch.id is not None
    item = PayoutItem(
        batch_id=batch.id,
        redemption_id=redemption_id,
        policy_id=redemption.policy_id,
        uscc=redemption.uscc,
        payee_name=f"firm {redemption.uscc}",
        bank_code="ICBC",
        account=redemption.account_override or REGISTRY_ACCOUNT,
        amount=redemption.amount,
        offset=offset,
        net=net,
        state=ItemState.SUBMITTED,
    )
    redemption.status = RedemptionStatus.PAYING
    session.add_all([item, redemption])
    session.flush()
    return item


def bank_pays(session: Session, item: PayoutItem, on: dt.date = TODAY) -> None:
    """The bank paid the item: payable -> paid for the amount, the offset receivable -> budget."""
    assert item.id is not None
    redemption = session.get(Redemption, item.redemption_id)
    assert redemption is not None
    item.state, item.paid_on, item.bank_reference = ItemState.PAID, on, f"BANK{item.id:06d}"
    redemption.status = RedemptionStatus.PAID
    session.add_all([item, redemption])
    session.flush()
    post(
        session,
        [
            _move(item, Account.PAYABLE, Account.PAID, item.amount, "paid"),
            _move(item, Account.RECEIVABLE, Account.BUDGET, item.offset, "offset"),
        ],
    )


def bank_returns(session: Session, item: PayoutItem) -> None:
    """The bank refused the item (submitted) or sent its payment back (paid): money payable
    again, the offset owed again, the redemption returned to finance."""
    redemption = session.get(Redemption, item.redemption_id)
    assert redemption is not None
    if item.state == ItemState.PAID:
        post(
            session,
            [
                _move(item, Account.PAID, Account.PAYABLE, item.amount, "returned"),
                _move(item, Account.BUDGET, Account.RECEIVABLE, item.offset, "offset returned"),
            ],
        )
    item.state = ItemState.RETURNED
    if item.bank_reference is None:
        item.bank_reference = f"BANK{item.id:06d}"
    redemption.status = RedemptionStatus.RETURNED
    session.add_all([item, redemption])
    session.flush()


def _move(item: PayoutItem, source: Account, target: Account, amount: Decimal, memo: str) -> Move:
    return Move(
        item.policy_id, item.uscc, item.redemption_id, source, target, amount, memo, item.id
    )


def paid(engine: Engine, redemption_id: int, offset: Decimal = ZERO) -> PayoutItem:
    """Gather and pay the redemption (committed); its paid item."""
    with db.session_scope(engine) as session:
        item = gather(session, redemption_id, offset)
        bank_pays(session, item)
        return item


def returned(engine: Engine, redemption_id: int, after_paying: bool = False) -> PayoutItem:
    """Gather the redemption and have the bank refuse it (or pay, then return it)."""
    with db.session_scope(engine) as session:
        item = gather(session, redemption_id)
        if after_paying:
            bank_pays(session, item)
        bank_returns(session, item)
        return item


def paying(engine: Engine, redemption_id: int) -> PayoutItem:
    """Gathered and submitted; the bank has not answered."""
    with db.session_scope(engine) as session:
        return gather(session, redemption_id)
