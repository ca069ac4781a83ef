"""Payment instructions for tests: valid, distinct per number, one field changed at a time."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from payouts.gateways import PaymentInstruction


def instruction(n: int, **changes: Any) -> PaymentInstruction:
    made = PaymentInstruction(
        idempotency_key=f"payout-item-{n}",
        batch_ref="B2020-001",
        payee_uscc=f"91330106{n:09d}X",
        payee_name=f"杭州测试{n}科技有限公司",
        bank_code="ICBC",
        account=f"622202{n:013d}",
        amount=Decimal(1000 + n) + Decimal("0.50"),
        memo="hz-2020-ui-refund",
    )
    return replace(made, **changes)


def instructions(count: int, start: int = 0, **changes: Any) -> list[PaymentInstruction]:
    return [instruction(n, **changes) for n in range(start, start + count)]
