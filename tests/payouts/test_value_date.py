"""A payment's value date is the business day where the bank books it: a transfer confirmed at
01:30 Beijing time (17:30 UTC the day before) was paid today in Beijing, not yesterday."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest

from payouts import service
from payouts.gateways import ItemResult, ItemStatus
from payouts.models import ItemState, PayoutItem
from subsidy.settings import get_settings

LATE_EVENING_UTC = dt.datetime(2020, 6, 30, 17, 30, tzinfo=dt.UTC)


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def _paid_at(moment: dt.datetime) -> dt.date | None:
    item = PayoutItem(
        id=7,
        batch_id=1,
        redemption_id=1,
        policy_id="p",
        uscc="91330100MA27Y0XX1X",
        payee_name="某公司",
        bank_code="ICBC",
        account="6222020000000001234",
        amount=Decimal("500.00"),
        offset=Decimal("0.00"),
        net=Decimal("500.00"),
        state=ItemState.SUBMITTED,
    )
    service._pay(item, ItemResult(item.idempotency_key, ItemStatus.PAID, "REF-1"), moment)
    return item.paid_on


@pytest.mark.parametrize(
    ("timezone", "day"),
    [("Asia/Shanghai", dt.date(2020, 7, 1)), ("UTC", dt.date(2020, 6, 30))],
)
def test_the_value_date_is_the_day_where_the_bank_books(
    zone: pytest.MonkeyPatch, timezone: str, day: dt.date
) -> None:
    zone.setenv("QINQING_TIMEZONE", timezone)
    get_settings.cache_clear()
    assert _paid_at(LATE_EVENING_UTC) == day
