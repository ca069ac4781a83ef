"""What a paid redemption shows its firm: the payment (value date, bank reference, masked
account) and the payment receipt (兑付凭证) the firm prints.

Reads only. The receipt names the payment as the bank made it (the payee and account of the
paid payout item, the amount, what an earlier clawback withheld) and the audit entry that
recorded it (`payout.pay`, its id and the first characters of its MAC): whoever holds a receipt
can have an auditor find that entry in the keyed chain, which nobody can forge without the key.
`READERS` may read it (API and portal alike): the firm its own (the caller passes its USCC),
finance and auditors any.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session, col

from payouts.errors import PayoutNotFound, RedemptionStateError
from payouts.models import ItemState, PayoutItem
from policies.models import Policy
from subsidy.audit.models import AuditEntry
from subsidy.auth import Role
from subsidy.capitals import in_capitals
from subsidy.masking import mask
from subsidy.redemption.models import Redemption, RedemptionStatus

PAY_ACTION = "payout.pay"
READERS = (Role.ENTERPRISE, Role.FINANCE, Role.AUDITOR)
MAC_SHOWN = 16
"""Hex characters of the audit entry's MAC a receipt prints (64 bits: no collision to fear)."""


@dataclass(frozen=True)
class Payment:
    """A paid redemption's payment, as its page shows it."""

    item_id: int
    paid_on: dt.date
    bank_reference: str
    account: str
    """Masked: the last four digits."""
    amount: Decimal
    offset: Decimal
    """What an earlier clawback withheld from this payment."""
    net: Decimal
    """What the bank transferred."""


@dataclass(frozen=True)
class Receipt:
    redemption_id: int
    uscc: str
    firm_name: str
    """The payee as the bank was told."""
    policy_id: str
    policy_title: str
    """In Chinese (the default language); `policy_title_en` in English."""
    policy_title_en: str
    payment: Payment
    audit_entry: int
    audit_mac: str

    @property
    def amount_in_capitals(self) -> str:
        return in_capitals(self.payment.amount)

    @property
    def net_in_capitals(self) -> str:
        return in_capitals(self.payment.net)

    @property
    def verification(self) -> str:
        """The audit reference printed on the receipt: 'A000123-1f2e3d4c5b6a7988'."""
        return f"A{self.audit_entry:06d}-{self.audit_mac}"


def payment(session: Session, redemption: Redemption) -> Payment | None:
    """The payment of a paid redemption (None until it is paid, or after it came back)."""
    if redemption.status != RedemptionStatus.PAID:
        return None
    item = (
        session.execute(
            select(PayoutItem)
            .where(
                col(PayoutItem.redemption_id) == redemption.id,
                col(PayoutItem.state) == ItemState.PAID,
            )
            .order_by(col(PayoutItem.id).desc())
        )
        .scalars()
        .first()
    )
    if item is None or item.paid_on is None:
        return None
    assert item.id is not None
    return Payment(
        item_id=item.id,
        paid_on=item.paid_on,
        bank_reference=item.bank_reference or "—",
        account=mask(item.account) or "",
        amount=item.amount,
        offset=item.offset,
        net=item.net,
    )


def receipt(session: Session, redemption_id: int, *, uscc: str | None = None) -> Receipt:
    """The receipt of a paid redemption. With `uscc` (a firm asking), another firm's redemption
    is not found, as everywhere a firm reads."""
    redemption = session.get(Redemption, redemption_id)
    if redemption is None or (uscc is not None and redemption.uscc != uscc):
        raise PayoutNotFound(code="payout.not_found.redemption", redemption_id=redemption_id)
    paid = payment(session, redemption)
    if paid is None:
        raise RedemptionStateError(
            code="payout.receipt_not_paid", redemption_id=redemption_id, status=redemption.status
        )
    item = session.get(PayoutItem, paid.item_id)
    policy = session.get(Policy, redemption.policy_id)
    entry = _pay_entry(session, redemption_id)
    assert item is not None, "a payment is its paid item"
    assert policy is not None, "a redemption names a stored policy"
    assert entry is not None, "every payment is audited"
    assert entry.id is not None
    return Receipt(
        redemption_id=redemption_id,
        uscc=redemption.uscc,
        firm_name=item.payee_name,
        policy_id=redemption.policy_id,
        policy_title=policy.title,
        policy_title_en=policy.title_en,
        payment=paid,
        audit_entry=entry.id,
        audit_mac=entry.hash[:MAC_SHOWN],
    )


def _pay_entry(session: Session, redemption_id: int) -> AuditEntry | None:
    """The audit entry that recorded the payment (the latest, should one have come back and
    been paid again)."""
    found: AuditEntry | None = (
        session.execute(
            select(AuditEntry)
            .where(
                col(AuditEntry.action) == PAY_ACTION,
                col(AuditEntry.subject) == f"redemption:{redemption_id}",
            )
            .order_by(col(AuditEntry.id).desc())
        )
        .scalars()
        .first()
    )
    return found
