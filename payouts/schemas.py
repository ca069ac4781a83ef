"""Requests and answers of the finance and officer endpoints. Accounts are always masked."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, Field

from payouts.ledger_check import Imbalance, LedgerReport
from payouts.models import PayoutItem, ReconciliationException
from payouts.queries import BatchSummary
from payouts.receipts import Receipt
from payouts.reversal import Reversal
from subsidy.api.params import RequestModel
from subsidy.masking import mask
from subsidy.redemption.models import FirmFlag, Redemption

Reason = Field(min_length=1, max_length=500)


class StateTotalOut(BaseModel):
    items: int
    net: Decimal


class BatchOut(BaseModel):
    id: int
    ref: str
    bank_code: str
    state: str
    items: int
    total: Decimal
    created_at: dt.datetime
    finished_at: dt.datetime | None
    by_state: dict[str, StateTotalOut]
    """Items and their net amount per item state (pending, submitted, paid, failed, returned)."""

    @classmethod
    def of(cls, summary: BatchSummary) -> BatchOut:
        b = summary.batch
        assert b.id is not None
        return cls(
            id=b.id,
            ref=b.ref,
            bank_code=b.bank_code,
            state=b.state,
            items=b.items,
            total=b.total,
            created_at=b.created_at,
            finished_at=b.finished_at,
            by_state={
                state: StateTotalOut(items=t.items, net=t.net)
                for state, t in summary.by_state.items()
            },
        )


class ItemOut(BaseModel):
    id: int
    batch_id: int
    redemption_id: int
    policy_id: str
    uscc: str
    payee_name: str
    bank_code: str
    account: str
    """Masked: the last four digits."""
    amount: Decimal
    offset: Decimal
    net: Decimal
    state: str
    attempts: int
    idempotency_key: str
    bank_reference: str | None
    reason_code: str | None
    reason: str | None
    paid_on: dt.date | None
    updated_at: dt.datetime

    @classmethod
    def of(cls, item: PayoutItem) -> ItemOut:
        assert item.id is not None
        return cls(
            id=item.id,
            batch_id=item.batch_id,
            redemption_id=item.redemption_id,
            policy_id=item.policy_id,
            uscc=item.uscc,
            payee_name=item.payee_name,
            bank_code=item.bank_code,
            account=mask(item.account) or "",
            amount=item.amount,
            offset=item.offset,
            net=item.net,
            state=item.state,
            attempts=item.attempts,
            idempotency_key=item.idempotency_key,
            bank_reference=item.bank_reference,
            reason_code=item.reason_code,
            reason=item.reason,
            paid_on=item.paid_on,
            updated_at=item.updated_at,
        )


class ReviewedRedemptionOut(BaseModel):
    """A redemption as officers and finance see it: with its maker and corrected account."""

    id: int
    uscc: str
    policy_id: str
    policy_version: int
    amount: Decimal
    status: str
    created_at: dt.datetime
    changed_by: str
    """Who made the last change a checker must confirm; they cannot approve or release it."""
    account_override: str | None
    """The account finance corrected it to (masked), if any."""

    @classmethod
    def of(cls, redemption: Redemption) -> ReviewedRedemptionOut:
        assert redemption.id is not None
        return cls(
            id=redemption.id,
            uscc=redemption.uscc,
            policy_id=redemption.policy_id,
            policy_version=redemption.policy_version,
            amount=redemption.amount,
            status=redemption.status,
            created_at=redemption.created_at,
            changed_by=redemption.changed_by,
            account_override=mask(redemption.account_override),
        )


class ReverseIn(RequestModel):
    reason: str = Reason


class ReversalOut(BaseModel):
    redemption: ReviewedRedemptionOut
    moved_from: str
    moved_to: str
    amount: Decimal
    clawback: bool
    """The money had been paid: the firm owes it, settled from its next payouts."""

    @classmethod
    def of(cls, done: Reversal) -> ReversalOut:
        return cls(
            redemption=ReviewedRedemptionOut.of(done.redemption),
            moved_from=done.source,
            moved_to=done.target,
            amount=done.amount,
            clawback=done.clawback,
        )


class AccountIn(RequestModel):
    account: str = Field(min_length=8, max_length=64, description="Digits; spaces are dropped.")


class FlagIn(RequestModel):
    reason: str = Reason


class FlagOut(BaseModel):
    uscc: str
    reason: str
    flagged_by: str
    flagged_at: dt.datetime

    @classmethod
    def of(cls, flag: FirmFlag) -> FlagOut:
        return cls(
            uscc=flag.uscc,
            reason=flag.reason,
            flagged_by=flag.flagged_by,
            flagged_at=flag.flagged_at,
        )


class ExceptionOut(BaseModel):
    id: int
    statement: str
    line: int | None
    kind: str
    payout_item_id: int | None
    bank_reference: str | None
    amount: Decimal | None
    """What the statement says (none for an item absent from it)."""
    expected: Decimal | None
    """The payout item's net amount (none for a line matching no item)."""
    detail: str
    created_at: dt.datetime
    resolved_at: dt.datetime | None
    resolved_by: str | None

    @classmethod
    def of(cls, found: ReconciliationException) -> ExceptionOut:
        return cls.model_validate(found, from_attributes=True)


class ResolveIn(RequestModel):
    note: str = Field(min_length=1, max_length=500, description="What was done about it.")


class ImbalanceOut(BaseModel):
    scope: str
    key: str
    account: str
    expected: Decimal
    found: Decimal
    difference: Decimal
    rule: str

    @classmethod
    def of(cls, imbalance: Imbalance) -> ImbalanceOut:
        return cls(
            scope=imbalance.scope,
            key=imbalance.key,
            account=str(imbalance.account),
            expected=imbalance.expected,
            found=imbalance.found,
            difference=imbalance.difference,
            rule=imbalance.rule,
        )


class LedgerCheckOut(BaseModel):
    balanced: bool
    entries: int
    policies: int
    firms: int
    imbalances: list[ImbalanceOut]
    unshown_redemptions: int

    @classmethod
    def of(cls, report: LedgerReport) -> LedgerCheckOut:
        return cls(
            balanced=report.balanced,
            entries=report.entries,
            policies=report.policies,
            firms=report.firms,
            imbalances=[ImbalanceOut.of(i) for i in report.imbalances],
            unshown_redemptions=report.unshown_redemptions,
        )


class ReceiptOut(BaseModel):
    """A paid redemption's payment receipt (兑付凭证); the account masked."""

    redemption_id: int
    uscc: str
    firm_name: str
    policy_id: str
    policy_title: str
    amount: Decimal
    amount_in_capitals: str
    offset: Decimal
    net: Decimal
    paid_on: dt.date
    bank_reference: str
    account: str
    """Masked: the last four digits."""
    verification: str
    """The audit entry that recorded the payment: A<entry id>-<the first 16 hex of its MAC>."""

    @classmethod
    def of(cls, found: Receipt) -> ReceiptOut:
        paid = found.payment
        return cls(
            redemption_id=found.redemption_id,
            uscc=found.uscc,
            firm_name=found.firm_name,
            policy_id=found.policy_id,
            policy_title=found.policy_title,
            amount=paid.amount,
            amount_in_capitals=found.amount_in_capitals,
            offset=paid.offset,
            net=paid.net,
            paid_on=paid.paid_on,
            bank_reference=paid.bank_reference,
            account=paid.account,
            verification=found.verification,
        )
