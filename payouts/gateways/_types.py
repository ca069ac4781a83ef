"""The vocabulary every gateway speaks: instructions in, item results and statement lines out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Literal, Protocol

from payouts.gateways.errors import InstructionConflict
from subsidy.masking import mask
from subsidy.money import FEN

MAX_YUAN = Decimal("99999999999999.99")  # NUMERIC(16,2), the database's money column
BANK_REFERENCE_LENGTH = 64
REASON_CODE_LENGTH = 16
"""The database's sizes for what a bank sends back; the file readers refuse longer values."""


class ItemStatus(StrEnum):
    PAID = "paid"  # money left: the bank executed it
    REJECTED = "rejected"  # permanent refusal at submission; reason_code/reason say why
    RETURNED = "returned"  # was paid, later came back (e.g. account closed after crediting)
    PENDING = "pending"  # accepted, result not known yet (the file bank until its result file)
    NOT_FOUND = "not_found"  # query only: the bank never saw this key


@dataclass(frozen=True, repr=False)
class PaymentInstruction:
    """One credit transfer to one firm. `account` is personal data: `repr` masks it."""

    idempotency_key: str  # deterministic per payout item; the bank deduplicates on it
    batch_ref: str
    payee_uscc: str
    payee_name: str
    bank_code: str  # e.g. "ICBC", "CCB"
    account: str  # full account number: the bank needs it, logs must not show it
    amount: Decimal  # yuan, at most 2 decimals, > 0
    memo: str

    def __post_init__(self) -> None:
        if not self.idempotency_key:
            raise ValueError("a payment instruction needs an idempotency key")
        check_amount(self.amount, f"instruction {self.idempotency_key}")

    def __repr__(self) -> str:
        return (
            f"PaymentInstruction(idempotency_key={self.idempotency_key!r}, "
            f"batch_ref={self.batch_ref!r}, payee_uscc={self.payee_uscc!r}, "
            f"bank_code={self.bank_code!r}, account={mask(self.account)!r}, "
            f"amount=Decimal('{self.amount}'))"
        )


@dataclass(frozen=True)
class ItemResult:
    idempotency_key: str
    status: ItemStatus
    bank_reference: str | None = None
    reason_code: str | None = None
    reason: str | None = None


LineKind = Literal["payment", "return"]
LINE_KINDS: tuple[LineKind, ...] = ("payment", "return")


@dataclass(frozen=True)
class StatementLine:
    """One movement on the paying account as the bank books it.

    `amount` is always positive; `kind` gives the direction (a payment leaves, a return comes
    back). A return carries the `bank_reference` of the payment it returns. `idempotency_key` is
    None when the bank did not echo it.
    """

    value_date: date
    bank_reference: str
    idempotency_key: str | None
    kind: LineKind
    amount: Decimal
    reason: str | None = None
    row: int | None = field(default=None, compare=False)
    """Where the line was read (header = row 1); None for a line not read from a file."""

    def __post_init__(self) -> None:
        if not self.bank_reference:
            raise ValueError("a statement line needs a bank reference")
        if self.kind not in LINE_KINDS:
            raise ValueError(f"statement line kind must be payment or return, not {self.kind!r}")
        check_amount(self.amount, f"statement line {self.bank_reference}")


class BankGateway(Protocol):
    """A bank as the payout batches see it. Both calls are safe to repeat.

    `submit` answers one result per instruction, in the same order: PAID or REJECTED from a bank
    that executes at once, PENDING from one that answers later. Resubmitting a key the bank already
    has returns its existing result and never pays twice. `query` answers the current status of
    each key, in the same order, NOT_FOUND for a key the bank never saw. Both may raise
    `TransientBankError`; `submit` may also raise `OutcomeUnknown`.
    """

    name: str

    def submit(self, instructions: Sequence[PaymentInstruction]) -> list[ItemResult]: ...

    def query(self, keys: Sequence[str]) -> list[ItemResult]: ...


def check_amount(amount: Decimal, what: str) -> None:
    """Refuse anything but a positive Decimal of yuan with at most two decimals."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"{what}: amount must be a Decimal, not {type(amount).__name__}")
    if not amount.is_finite() or amount <= 0 or amount > MAX_YUAN:
        raise ValueError(f"{what}: amount {amount} must be between 0.01 and {MAX_YUAN} yuan")
    if amount != amount.quantize(FEN):
        raise ValueError(f"{what}: amount {amount} has more than 2 decimals")


def to_fen(amount: Decimal) -> int:
    """Whole fen of an amount already checked by `check_amount` (exact: no rounding happens)."""
    return int(amount.scaleb(2))


def from_fen(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


def one_per_key(instructions: Sequence[PaymentInstruction]) -> dict[str, PaymentInstruction]:
    """The call's instructions by key; a key twice in one call must be the same payment."""
    by_key: dict[str, PaymentInstruction] = {}
    for i in instructions:
        first = by_key.setdefault(i.idempotency_key, i)
        if first is not i and identity(first) != identity(i):
            raise InstructionConflict(
                f"key {i.idempotency_key} appears twice in one call with different payments"
            )
    return by_key


def identity(i: PaymentInstruction) -> tuple[str | int, ...]:
    """What makes two instructions the same payment; the memo and the batch may differ."""
    return (i.payee_uscc, i.payee_name, i.bank_code, i.account, to_fen(i.amount))
