"""Times as users read them: stored in UTC, shown in QINQING_TIMEZONE (Asia/Shanghai by
default); a zone that does not exist stops the start with one error naming the variable."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from subsidy import localtime
from subsidy.errors import ConfigurationError
from subsidy.settings import Settings, get_settings

HALF_PAST_FOUR_UTC = dt.datetime(2020, 6, 30, 16, 30, tzinfo=dt.UTC)


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.delenv("QINQING_TIMEZONE", raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_beijing_time_by_default(zone: pytest.MonkeyPatch) -> None:
    assert Settings(_env_file=None).timezone == "Asia/Shanghai"
    assert localtime.shown(HALF_PAST_FOUR_UTC) == "2020-07-01 00:30"
    assert localtime.local_date(HALF_PAST_FOUR_UTC) == dt.date(2020, 7, 1)
    assert localtime.local(HALF_PAST_FOUR_UTC).utcoffset() == dt.timedelta(hours=8)


def test_a_naive_time_is_utc(zone: pytest.MonkeyPatch) -> None:
    assert localtime.shown(HALF_PAST_FOUR_UTC.replace(tzinfo=None)) == "2020-07-01 00:30"
    assert localtime.shown(None) == "—"


def test_the_zone_is_a_setting(zone: pytest.MonkeyPatch) -> None:
    zone.setenv("QINQING_TIMEZONE", "Europe/Berlin")
    get_settings.cache_clear()
    assert localtime.shown(HALF_PAST_FOUR_UTC, localtime.SECONDS) == "2020-06-30 18:30:00"


@pytest.mark.parametrize("bad", ["Asia/Peking", "Beijing", "", "../../etc/passwd"])
def test_an_unknown_zone_is_one_error_naming_the_variable(
    zone: pytest.MonkeyPatch, bad: str
) -> None:
    zone.setenv("QINQING_TIMEZONE", bad)
    get_settings.cache_clear()
    with pytest.raises(ConfigurationError, match="QINQING_TIMEZONE") as refused:
        get_settings()
    assert "IANA" in str(refused.value)


class _HalfPastFourUtc(dt.datetime):
    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> _HalfPastFourUtc:
        return HALF_PAST_FOUR_UTC.astimezone(tz)  # type: ignore[return-value]


def test_the_business_date_is_the_date_where_users_are(zone: pytest.MonkeyPatch) -> None:
    """Unset QINQING_TODAY: 16:30 UTC on June 30 is July 1 in Beijing, still June 30 in London."""
    beijing = Settings(_env_file=None)
    london = Settings(_env_file=None, timezone="Europe/London")
    zone.setattr(dt, "datetime", _HalfPastFourUtc)
    assert beijing.business_date == dt.date(2020, 7, 1)
    assert london.business_date == dt.date(2020, 6, 30)
