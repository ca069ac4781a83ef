"""Paying approved redemptions through a bank, exactly once.

One batch is settled in three steps, each its own transaction, run by the task that owns them:

1. `claim`: lock the batch, mark the items to send `submitted` and commit *before* the bank is
   called. From then on a crash (even SIGKILL) cannot lose track of an item: whoever settles the
   batch next finds it `submitted`, an outcome unknown, and asks the bank before sending again.
2. `ask_bank` (no database): query the items whose outcome is unknown; send the rest, and those
   the bank has never seen, under each item's deterministic idempotency key. The bank executes a
   key at most once, so a resend after a lost answer cannot pay twice.
3. `apply`: lock the items, re-check each is still `submitted` (another settler may have applied
   the same answer), and record paid / returned with ledger moves and audit entries.

A transient refusal (the bank did nothing) marks the items `failed` with a backoff; they are sent
again once due. A lost answer leaves them `submitted` for the next step 2 to ask.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl
from sqlmodel import Session

from payouts import repository
from payouts.banks import bank_of, usable
from payouts.gateways import (
    BankError,
    BankGateway,
    ItemResult,
    ItemStatus,
    OutcomeUnknown,
    PaymentInstruction,
    TransientBankError,
)
from payouts.models import BatchState, ItemState, PayoutBatch, PayoutItem, item_id_of, item_key
from subsidy import bulk
from subsidy.audit import service as audit
from subsidy.db import utcnow
from subsidy.ledger import service as ledger
from subsidy.ledger.models import Account
from subsidy.localtime import local_date
from subsidy.redemption import payment
from subsidy.registry.schema import MONEY_DTYPE
from subsidy.settings import get_settings

ACTOR = "system:payouts"
MAX_BACKOFF = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Gathered:
    batch_ids: list[int]
    items: int
    total: Decimal
    without_account: list[int]
    """Approved redemptions left waiting: neither the registry nor finance gives an account."""
    resume_after: int | None = None
    """Set when `limit` stopped the gathering: the last redemption id looked at."""

    def plus(self, more: Gathered) -> Gathered:
        return Gathered(
            self.batch_ids + more.batch_ids,
            self.items + more.items,
            self.total + more.total,
            self.without_account + more.without_account,
            more.resume_after,
        )


NOTHING_GATHERED = Gathered([], 0, Decimal("0.00"), [])


def gather(
    session: Session,
    *,
    batch_size: int | None = None,
    after: int = 0,
    limit: int | None = None,
    run_id: int | None = None,
) -> Gathered:
    """Put the approved redemptions after id `after` (at most `limit` of them) into payout
    items, in batches per bank of at most `batch_size` (of run `run_id`, when one asked); what
    a firm owes from a clawback is offset against its payments. A redemption without an account
    a bank could take waits for finance (`payouts.accounts`). `batch_size` defaults to
    QINQING_PAYOUT_BATCH_SIZE."""
    batch_size = batch_size or get_settings().payout_batch_size
    waiting = repository.payable(session, after=after, limit=limit)
    full = limit is not None and len(waiting) == limit
    resume_after = waiting[-1].redemption_id if full else None
    without = [p.redemption_id for p in waiting if not usable(p.account)]
    payable = [p for p in waiting if usable(p.account)]
    owed = repository.receivables(session, sorted({p.uscc for p in payable}))
    by_bank: dict[str, list[repository.Payable]] = defaultdict(list)
    for p in payable:
        assert p.account is not None
        by_bank[bank_of(p.account)].append(p)
    now = utcnow()
    batches: list[tuple[PayoutBatch, list[repository.Payable]]] = []
    for bank in sorted(by_bank):
        chunk_of = by_bank[bank]
        for start in range(0, len(chunk_of), batch_size):
            chunk = chunk_of[start : start + batch_size]
            total = sum((p.amount for p in chunk), Decimal("0.00"))
            batch = PayoutBatch(
                bank_code=bank, state=BatchState.OPEN, items=len(chunk), total=total, run_id=run_id
            )
            batches.append((batch, chunk))
    session.add_all([b for b, _ in batches])
    session.flush()
    rows = []
    for batch, chunk in batches:
        for p in chunk:
            offset = min(owed.get(p.uscc, Decimal("0.00")), p.amount)
            if offset:
                owed[p.uscc] -= offset
            rows.append(_item_row(batch, p, offset, now))
    if rows:
        table = PayoutItem.__table__  # type: ignore[attr-defined]
        bulk.insert_frame(session.connection(), table, pl.DataFrame(rows, schema=_ITEM_SCHEMA))
    if batches:
        payment.paying(session, repository.in_batches([_id(b.id) for b, _ in batches]))
    audit.record_many(
        session,
        actor=ACTOR,
        changes=[
            audit.Change(
                "payout.batch",
                f"payout_batch:{batch.id}",
                after={"bank": batch.bank_code, "items": batch.items, "total": str(batch.total)},
            )
            for batch, _ in batches
        ],
    )
    return Gathered(
        [_id(b.id) for b, _ in batches],
        len(rows),
        sum((b.total for b, _ in batches), Decimal("0.00")),
        without,
        resume_after,
    )


_ITEM_SCHEMA = pl.Schema(
    {
        "batch_id": pl.Int64(),
        "redemption_id": pl.Int64(),
        "policy_id": pl.String(),
        "uscc": pl.String(),
        "payee_name": pl.String(),
        "bank_code": pl.String(),
        "account": pl.String(),
        "amount": MONEY_DTYPE,
        "offset": MONEY_DTYPE,
        "net": MONEY_DTYPE,
        "state": pl.String(),
        "attempts": pl.Int64(),
        "created_at": pl.Datetime("us", "UTC"),
        "updated_at": pl.Datetime("us", "UTC"),
    }
)


def _item_row(
    batch: PayoutBatch, p: repository.Payable, offset: Decimal, now: dt.datetime
) -> dict[str, object]:
    assert p.account is not None
    return {
        "batch_id": batch.id,
        "redemption_id": p.redemption_id,
        "policy_id": p.policy_id,
        "uscc": p.uscc,
        "payee_name": p.name,
        "bank_code": batch.bank_code,
        "account": p.account,
        "amount": p.amount,
        "offset": offset,
        "net": p.amount - offset,
        "state": str(ItemState.PENDING),
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }


@dataclass(frozen=True)
class Claim:
    batch_id: int
    ask: list[PaymentInstruction]
    """Sent before with no answer recorded: the bank is asked first."""
    send: list[PaymentInstruction]
    offset_only: list[int]
    """Items the firm's debt covers entirely: nothing to transfer."""


def claim(session: Session, batch_id: int, *, now: dt.datetime) -> Claim | None:
    """Step 1: what to ask and what to send now (marked `submitted` before any call)."""
    batch = repository.locked_batch(session, batch_id)
    if batch is None or batch.state == BatchState.DONE:
        return None
    ask = [
        _instruction(batch, i)
        for i in repository.items_of(session, batch_id, [ItemState.SUBMITTED])
    ]
    due = repository.claim_due(session, batch_id, now=now)
    offset_only = [i.id for i in due if i.net == 0]
    send = [_instruction(batch, i) for i in due if i.net > 0]
    return Claim(batch_id, ask, send, offset_only)


def _instruction(batch: PayoutBatch, item: PayoutItem | repository.Due) -> PaymentInstruction:
    return PaymentInstruction(
        idempotency_key=item.idempotency_key,
        batch_ref=batch.ref,
        payee_uscc=item.uscc,
        payee_name=item.payee_name,
        bank_code=item.bank_code,
        account=item.account,
        amount=item.net,
        memo=f"Qinqing subsidy {item.policy_id} redemption {item.redemption_id}",
    )


@dataclass
class Answers:
    results: dict[str, ItemResult] = field(default_factory=dict)
    unsent: list[str] = field(default_factory=list)
    """Keys the bank certainly did not process (a transient refusal): to send again later."""
    error: BankError | None = None


def ask_bank(gateway: BankGateway, claim: Claim) -> Answers:
    """Step 2: no database. Never raises a bank error; it is returned with what was learnt."""
    answers = Answers()
    send = list(claim.send)
    try:
        if claim.ask:
            for result in gateway.query([i.idempotency_key for i in claim.ask]):
                if result.status == ItemStatus.NOT_FOUND:
                    send.extend(i for i in claim.ask if i.idempotency_key == result.idempotency_key)
                else:
                    answers.results[result.idempotency_key] = result
        if send:
            for result in gateway.submit(send):
                answers.results[result.idempotency_key] = result
    except TransientBankError as exc:
        answers.error = exc
        answers.unsent = [
            i.idempotency_key for i in send if i.idempotency_key not in answers.results
        ]
    except OutcomeUnknown as exc:
        answers.error = exc  # the items stay `submitted`: the next settle asks the bank
    return answers


@dataclass(frozen=True)
class Applied:
    paid: int
    returned: int
    unsettled: int
    retry_in: dt.timedelta | None


def apply(
    session: Session, claim: Claim, answers: Answers, *, now: dt.datetime, backoff: dt.timedelta
) -> Applied:
    """Step 3: record what the bank said, once."""
    items = {
        i.idempotency_key: i
        for i in repository.items_of(
            session, claim.batch_id, [ItemState.SUBMITTED, ItemState.PAID], lock=True
        )
    }
    paid, returned, changes, moves = [], [], [], []
    for key, result in answers.results.items():
        item = items.get(key)
        if item is None:
            continue
        if result.status == ItemStatus.PAID and item.state == ItemState.SUBMITTED:
            _pay(item, result, now)
            paid.append(item)
        elif result.status == ItemStatus.REJECTED and item.state == ItemState.SUBMITTED:
            _return(item, result, now)
            returned.append(item)
        elif result.status == ItemStatus.RETURNED and item.state in (
            ItemState.SUBMITTED,
            ItemState.PAID,
        ):
            if item.state == ItemState.SUBMITTED:
                # Paid and already sent back before we heard of it (a lost answer asked again
                # later): the books show both movements, as the bank's statement will.
                _pay(item, result, now)
                moves += _pay_moves(item)
            moves += _unpay_moves(item)
            _return(item, result, now)
            returned.append(item)
    for item_id in claim.offset_only:
        item = next((i for i in items.values() if i.id == item_id), None)
        if item is not None and item.state == ItemState.SUBMITTED:
            _pay(item, ItemResult(item.idempotency_key, ItemStatus.PAID, "OFFSET"), now)
            paid.append(item)
    for key in answers.unsent:
        item = items.get(key)
        if item is not None and item.state == ItemState.SUBMITTED:
            item.state = ItemState.FAILED
            item.next_attempt_at = now + min(backoff * 2 ** (item.attempts - 1), MAX_BACKOFF)
            item.reason = str(answers.error)
    moves += [m for item in paid for m in _pay_moves(item)]
    changes += [_change("payout.pay", item) for item in paid]
    changes += [_change("payout.return", item) for item in returned]
    payment.paid(session, [i.redemption_id for i in paid])
    payment.came_back(session, [i.redemption_id for i in returned])
    session.flush()
    ledger.post(session, moves)
    if changes:
        audit.record_many(session, actor=ACTOR, changes=changes)
    unsettled = repository.unsettled_left(session, claim.batch_id)
    if unsettled == 0:
        batch = repository.locked_batch(session, claim.batch_id)
        assert batch is not None
        batch.state, batch.finished_at = BatchState.DONE, now
        session.flush()
    # Whatever is left (a backoff, a lost answer, a file bank's result still to come) is looked
    # at again after one backoff.
    retry_in = backoff if unsettled else None
    return Applied(len(paid), len(returned), unsettled, retry_in)


def paid_keys_since(session: Session, since: dt.date) -> list[str]:
    """Keys of items paid on or after `since`: a bank may still return them."""
    return [item_key(item_id) for item_id in repository.paid_since(session, since)]


def apply_returns(session: Session, results: Sequence[ItemResult], *, now: dt.datetime) -> int:
    """Record the payments the bank says came back (account closed after crediting...): the
    money is payable again, the redemption goes back to finance with the bank's reason."""
    came_back = {r.idempotency_key: r for r in results if r.status == ItemStatus.RETURNED}
    items = repository.paid_items_locked(session, [_item_id(k) for k in came_back])
    moves = [m for item in items for m in _unpay_moves(item)]
    for item in items:
        _return(item, came_back[item.idempotency_key], now)
    payment.came_back(session, [i.redemption_id for i in items])
    session.flush()
    ledger.post(session, moves)
    if items:
        audit.record_many(
            session, actor=ACTOR, changes=[_change("payout.return", item) for item in items]
        )
    return len(items)


def _item_id(key: str) -> int:
    return item_id_of(key)


def _pay(item: PayoutItem, result: ItemResult, now: dt.datetime) -> None:
    item.state = ItemState.PAID
    item.bank_reference = result.bank_reference
    item.paid_on = local_date(now)  # the bank's value date: the business day where it books
    item.reason_code = item.reason = None
    item.updated_at = now


def _return(item: PayoutItem, result: ItemResult, now: dt.datetime) -> None:
    item.state = ItemState.RETURNED
    item.reason_code = result.reason_code
    item.reason = result.reason or "returned by the bank"
    item.updated_at = now


def _pay_moves(item: PayoutItem) -> list[ledger.Move]:
    return [
        _move(item, Account.PAYABLE, Account.PAID, item.amount, "paid"),
        _move(item, Account.RECEIVABLE, Account.BUDGET, item.offset, "clawback offset"),
    ]


def _unpay_moves(item: PayoutItem) -> list[ledger.Move]:
    return [
        _move(item, Account.PAID, Account.PAYABLE, item.amount, "returned"),
        _move(item, Account.BUDGET, Account.RECEIVABLE, item.offset, "offset undone"),
    ]


def _move(
    item: PayoutItem, source: Account, target: Account, amount: Decimal, memo: str
) -> ledger.Move:
    return ledger.Move(
        item.policy_id, item.uscc, item.redemption_id, source, target, amount, memo, item.id
    )


def _change(action: str, item: PayoutItem) -> audit.Change:
    return audit.Change(
        action,
        f"redemption:{item.redemption_id}",
        after={
            "item": item.id,
            "state": str(item.state),
            "amount": str(item.amount),
            "net": str(item.net),
            "bank_reference": item.bank_reference,
            "reason": item.reason,
        },
    )


def _id(value: int | None) -> int:
    assert value is not None
    return value
