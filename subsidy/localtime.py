"""Times as users read them: stored in UTC (`db.utcnow`, `UTCDateTime`), shown in the time zone
of the setting QINQING_TIMEZONE (Asia/Shanghai unless set).

Every time a page, a command or a notice shows goes through `local` or `shown` (the portal's
Jinja2 filter `local` is `shown`). The API answers ISO 8601 in UTC with its offset, for machines;
business dates (`date`: as-of, valid from/to, a bank's value date) are dates, never converted.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from subsidy.settings import get_settings

MINUTES = "%Y-%m-%d %H:%M"
SECONDS = "%Y-%m-%d %H:%M:%S"


def zone() -> ZoneInfo:
    return get_settings().zone


def zone_name() -> str:
    """The zone as command output labels its times: 'Asia/Shanghai'."""
    return get_settings().timezone


def local(moment: dt.datetime, where: ZoneInfo | None = None) -> dt.datetime:
    """A stored moment in the users' time zone. A naive datetime is UTC (SQLite keeps no offset;
    `UTCDateTime` adds it back, this is for whatever did not come through it)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(where or zone())


def shown(moment: dt.datetime | None, pattern: str = MINUTES, *, missing: str = "—") -> str:
    """2020-06-30T16:30Z -> '2020-07-01 00:30' (Asia/Shanghai); None -> '—'."""
    if moment is None:
        return missing
    return local(moment).strftime(pattern)


def local_date(moment: dt.datetime) -> dt.date:
    """The day a moment falls on where users are (a payment at 17:00 UTC is tomorrow there)."""
    return local(moment).date()
