"""Payout batches and their items, the statement lines reconciliation matched to them, and what
it could not match.

An item is one attempt to pay one redemption: a redemption whose payment came back is paid again
by a new item (with a new idempotency key) once finance has corrected the account. An item's key
is derived from its id, so a resubmission after a crash or a lost answer carries the same key and
the bank pays it at most once.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from payouts.gateways._types import BANK_REFERENCE_LENGTH, REASON_CODE_LENGTH
from subsidy.db import Money, UTCDateTime, identifier, utcnow


class BatchState(StrEnum):
    OPEN = "open"  # items still to submit or to settle
    DONE = "done"  # every item paid or returned


class ItemState(StrEnum):
    """pending -> submitted -> paid; failed (transient, retried with backoff) -> pending;
    returned (refused or sent back by the bank: finance corrects and retries)."""

    PENDING = "pending"
    SUBMITTED = "submitted"  # sent, or about to be: the outcome must be asked before resending
    PAID = "paid"
    FAILED = "failed"
    RETURNED = "returned"


UNSETTLED = (ItemState.PENDING, ItemState.SUBMITTED, ItemState.FAILED)


class RunState(StrEnum):
    """queued -> gathering -> gathered (its batches are then paid) | failed."""

    QUEUED = "queued"
    GATHERING = "gathering"
    GATHERED = "gathered"
    FAILED = "failed"


class PayoutRun(SQLModel, table=True):
    """One payout run asked for by a finance user (portal or API): gather every approved
    redemption into batches and pay them. Its batches carry its id, so its progress is theirs."""

    __tablename__ = "payout_run"

    id: int | None = Field(default=None, primary_key=True)
    state: RunState = Field(sa_column=Column(String(16), nullable=False))
    batch_size: int
    requested_by: str = Field(sa_column=Column(String(128), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    started_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    gathered_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    items: int = 0
    total: Decimal = Field(default=Decimal("0.00"), sa_column=Column(Money(), nullable=False))
    without_account: int = 0
    """Approved redemptions the run left waiting for a receiving account."""
    error: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))


class PayoutBatch(SQLModel, table=True):
    __tablename__ = "payout_batch"
    __table_args__ = (Index("ix_payout_batch_run", "run_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("payout_run.id"), nullable=True)
    )
    """The run that gathered it (none for `qinqing payouts run` and the beat's runs)."""
    bank_code: str = Field(sa_column=Column(String(16), nullable=False))
    state: BatchState = Field(sa_column=Column(String(16), nullable=False))
    items: int
    total: Decimal = Field(sa_column=Column(Money(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )

    @property
    def ref(self) -> str:
        assert self.id is not None
        return batch_ref(self.id)


class PayoutItem(SQLModel, table=True):
    __tablename__ = "payout_item"
    __table_args__ = (
        Index("ix_payout_item_batch", "batch_id", "state"),
        Index("ix_payout_item_redemption", "redemption_id"),
        Index("ix_payout_item_state", "state"),
        # At most one item per redemption that is not returned: no redemption is ever in two
        # payments at once, however many `payouts run` race.
        Index(
            "uq_payout_item_live",
            "redemption_id",
            unique=True,
            sqlite_where=text("state <> 'returned'"),
            postgresql_where=text("state <> 'returned'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(sa_column=Column(Integer, ForeignKey("payout_batch.id"), nullable=False))
    redemption_id: int = Field(
        sa_column=Column(Integer, ForeignKey("redemption.id"), nullable=False)
    )
    policy_id: str = Field(sa_column=Column(identifier(64), nullable=False))
    uscc: str = Field(sa_column=Column(identifier(18), nullable=False))
    payee_name: str
    bank_code: str = Field(sa_column=Column(String(16), nullable=False))
    account: str = Field(sa_column=Column(String(40), nullable=False))
    amount: Decimal = Field(sa_column=Column(Money(), nullable=False))
    """The redemption's amount."""
    offset: Decimal = Field(sa_column=Column(Money(), nullable=False))
    """What the firm owed from an earlier clawback, settled from this payment."""
    net: Decimal = Field(sa_column=Column(Money(), nullable=False))
    """What the bank is asked to transfer: amount - offset."""
    state: ItemState = Field(sa_column=Column(String(16), nullable=False))
    attempts: int = 0
    next_attempt_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    bank_reference: str | None = Field(
        default=None, sa_column=Column(String(BANK_REFERENCE_LENGTH), nullable=True)
    )
    reason_code: str | None = Field(
        default=None, sa_column=Column(String(REASON_CODE_LENGTH), nullable=True)
    )
    reason: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    paid_on: date | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))

    @property
    def idempotency_key(self) -> str:
        """Deterministic: the same item always carries the same key to the bank."""
        assert self.id is not None
        return item_key(self.id)


ITEM_KEY = re.compile(r"QQ-P([0-9]{10})")
"""The one format of a payout item's key (`item_key`): `QQ-P` and its id in ten digits."""


def item_key(item_id: int) -> str:
    """The idempotency key the bank sees for the item (its EndToEndId, its statement reference)."""
    return f"QQ-P{item_id:010d}"


def item_id_of(key: str) -> int:
    """The item a key names (a key of ours: `ITEM_KEY` matches it)."""
    found = ITEM_KEY.fullmatch(key)
    if found is None:
        raise ValueError(f"{key!r} is not a payout item's key")
    return int(found.group(1))


def batch_ref(batch_id: int) -> str:
    """The reference of a payout batch as banks and reports show it."""
    return f"QQ-B{batch_id:08d}"


class ExceptionKind(StrEnum):
    UNMATCHED = "unmatched"  # a statement line with no payout item
    AMOUNT_MISMATCH = "amount_mismatch"
    DUPLICATE = "duplicate"  # a second payment (or return) of an item, on one file or a later one
    NOT_ON_STATEMENT = "not_on_statement"  # paid here, absent from the bank's statement
    UNRECORDED_PAYMENT = "unrecorded_payment"  # the bank paid an item not recorded as paid here
    UNRECORDED_RETURN = "unrecorded_return"  # the bank returned an item not recorded as returned


class ReconciliationException(SQLModel, table=True):
    __tablename__ = "reconciliation_exception"

    id: int | None = Field(default=None, primary_key=True)
    statement: str
    """The statement file's name and SHA-256, so the same file is never reconciled twice."""
    line: int | None = None
    kind: ExceptionKind = Field(sa_column=Column(String(32), nullable=False))
    payout_item_id: int | None = None
    bank_reference: str | None = Field(
        default=None, sa_column=Column(String(BANK_REFERENCE_LENGTH), nullable=True)
    )
    amount: Decimal | None = Field(default=None, sa_column=Column(Money(), nullable=True))
    expected: Decimal | None = Field(default=None, sa_column=Column(Money(), nullable=True))
    detail: str
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    resolved_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    resolved_by: str | None = None


class StatementLineRecord(SQLModel, table=True):
    """A statement line reconciliation matched to a payout item, kept so that a later statement
    can tell the same bank transaction reported again from a second payment (`reconcile.py`)."""

    __tablename__ = "statement_line"
    __table_args__ = (
        Index("ix_statement_line_item", "payout_item_id", "kind"),
        UniqueConstraint("statement_sha256", "line", name="uq_statement_line"),
    )

    id: int | None = Field(default=None, primary_key=True)
    statement_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    statement_file: str = Field(sa_column=Column(String(), nullable=False))
    """The file's name when it was reconciled (the SHA-256 is what identifies it)."""
    line: int = Field(sa_column=Column(Integer, nullable=False))
    """The line's row in the file (header = row 1)."""
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    payout_item_id: int = Field(
        sa_column=Column(Integer, ForeignKey("payout_item.id"), nullable=False)
    )
    # unbounded: a bank's reference on a line matched by our key may be longer than ours
    bank_reference: str = Field(sa_column=Column(String(), nullable=False))
    amount: Decimal = Field(sa_column=Column(Money(), nullable=False))
    value_date: date = Field(sa_column=Column(Date(), nullable=False))
    reconciled_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class PayeeAccount(SQLModel, table=True):
    """The receiving account finance entered for a firm whose registry record gives none (or
    none a bank takes). The registry owns bank accounts; this is payouts' recorded override,
    used by a payout run only once a second finance user has confirmed it (maker-checker)."""

    __tablename__ = "payee_account"

    uscc: str = Field(sa_column=Column(identifier(18), primary_key=True))
    account: str = Field(sa_column=Column(String(40), nullable=False))
    entered_by: str = Field(sa_column=Column(String(128), nullable=False))
    entered_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    confirmed_by: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))
    confirmed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
