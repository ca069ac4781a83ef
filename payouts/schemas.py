"""Requests and answers of the finance and officer endpoints. Accounts are always masked."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, Field

from payouts.accounts import Waiting
from payouts.ledger_check import Imbalance, LedgerReport
from payouts.models import PayeeAccount, PayoutItem, ReconciliationException
from payouts.queries import BatchSummary
from payouts.receipts import Receipt
from payouts.reversal import Reversal
from payouts.runs import Progress
from payouts.statements import Statement
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


class RunStateOut(BaseModel):
    items: int
    net: Decimal


class RunOut(BaseModel):
    """A payout run and how far it got: its batches and their items by state."""

    id: int
    state: str
    """queued, gathering, gathered or failed: the run's own row."""
    phase: str
    """queued, gathering, paying (gathered, batches still open), finished or failed."""
    finished: bool
    requested_by: str
    batch_size: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    gathered_at: dt.datetime | None
    items: int
    total: Decimal
    without_account: int
    """Approved redemptions left waiting for a receiving account."""
    batches: int
    open_batches: int
    by_state: dict[str, RunStateOut]
    error: str | None

    @classmethod
    def of(cls, progress: Progress) -> RunOut:
        run = progress.run
        assert run.id is not None
        return cls(
            id=run.id,
            state=run.state,
            phase=progress.phase,
            finished=progress.finished,
            requested_by=run.requested_by,
            batch_size=run.batch_size,
            created_at=run.created_at,
            started_at=run.started_at,
            gathered_at=run.gathered_at,
            items=run.items,
            total=run.total,
            without_account=run.without_account,
            batches=progress.batches,
            open_batches=progress.open_batches,
            by_state={
                s: RunStateOut(items=c.items, net=c.net) for s, c in progress.by_state.items()
            },
            error=run.error,
        )


class RunIn(RequestModel):
    batch_size: int = Field(default=1_000, ge=1, le=50_000, description="Items per batch at most.")


class StatementOut(BaseModel):
    """A reconciled bank statement: lines matched and the exceptions it raised, by kind."""

    sha256: str
    file: str
    reconciled_at: dt.datetime
    reconciled_by: str
    lines: int
    matched: int
    already_seen: int
    exceptions: dict[str, int]
    value_dates: tuple[str, str] | None
    repeated: bool = False
    """This upload was reconciled before: nothing was recorded again."""

    @classmethod
    def of(cls, found: Statement, *, repeated: bool = False) -> StatementOut:
        return cls(
            sha256=found.sha256,
            file=found.file,
            reconciled_at=found.reconciled_at,
            reconciled_by=found.by,
            lines=found.lines,
            matched=found.matched,
            already_seen=found.already_seen,
            exceptions=found.exceptions,
            value_dates=found.period,
            repeated=repeated,
        )


class WaitingOut(BaseModel):
    """An approved redemption no payout run can pay: no account a bank takes."""

    redemption_id: int
    uscc: str
    name: str | None
    policy_id: str
    amount: Decimal
    registry_account: str | None
    """Masked."""
    entered_account: str | None
    """The account finance entered (masked), waiting for another's confirmation."""
    entered_by: str | None

    @classmethod
    def of(cls, found: Waiting) -> WaitingOut:
        entry = found.entered
        return cls(
            redemption_id=found.redemption_id,
            uscc=found.uscc,
            name=found.name,
            policy_id=found.policy_id,
            amount=found.amount,
            registry_account=found.registry_account,
            entered_account=mask(entry.account) if entry else None,
            entered_by=entry.entered_by if entry else None,
        )


class PayeeAccountOut(BaseModel):
    uscc: str
    account: str
    """Masked."""
    entered_by: str
    entered_at: dt.datetime
    confirmed_by: str | None
    confirmed_at: dt.datetime | None

    @classmethod
    def of(cls, entry: PayeeAccount) -> PayeeAccountOut:
        return cls(
            uscc=entry.uscc,
            account=mask(entry.account) or "",
            entered_by=entry.entered_by,
            entered_at=entry.entered_at,
            confirmed_by=entry.confirmed_by,
            confirmed_at=entry.confirmed_at,
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
