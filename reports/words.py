"""A workbook's words in one language: every label, header and note from `reports.po`, states and
banks from `terms.po` (through `subsidy.i18n`), times in the users' zone (`subsidy.localtime`).

A report makes one `Words` for its language and asks it for everything it writes that is not
data: column headers (`columns`), sheet names, headings, notes, the period described, a state or
a bank by its code. Data (names, USCCs, amounts, a district as registered) is written as it is.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from reports._sheets import Column
from reports.queries import NOT_REGISTERED, Period
from subsidy import i18n, localtime
from subsidy.i18n import Language


class Words:
    def __init__(self, language: Language) -> None:
        self.language = language
        self.zone = localtime.zone_name()

    def __call__(self, key: str, **values: object) -> str:
        """The words of `key` (a `workbook.*` key of reports.po) with `values` filled in; `{zone}`
        is always the users' time zone."""
        return i18n.text(self.language, key, zone=self.zone, **values)

    def columns(self, columns: Sequence[Column]) -> tuple[Column, ...]:
        """Columns whose headers are keys, with their headers in this language."""
        return tuple(dataclasses.replace(c, header=self(c.header)) for c in columns)

    def state(self, kind: str, value: str | None) -> str | None:
        return None if value is None else i18n.state(self.language, kind, str(value))

    def bank(self, code: str | None) -> str | None:
        return None if code is None else i18n.bank(self.language, code)

    def actor(self, name: str | None) -> str | None:
        return None if name is None else i18n.actor(self.language, name)

    def district(self, key: str) -> str:
        """A district as registered, or the words for a firm not in the registry."""
        return self("workbook.not_registered") if key == NOT_REGISTERED else key

    def section(self, letter: str) -> str:
        """A GB/T 4754-2017 section's name by its letter; "" for a letter that is none."""
        key = f"workbook.section.{letter}"
        return self(key) if i18n.has(self.language, key) else ""

    def count(self, key: str, n: int) -> str:
        """`workbook.items`, `workbook.lines`, `workbook.firms`: "1,234 笔"."""
        return self(key, n=f"{n:,}")

    def period(self, period: Period) -> str:
        """Which payouts a report covers: '2026-03-01 至 2026-03-31，全部政策'."""
        start, end = period.date_from, period.date_to
        if start and end:
            days = self("workbook.period.between", start=start, end=end)
        elif start:
            days = self("workbook.period.from", start=start)
        elif end:
            days = self("workbook.period.up_to", end=end)
        else:
            days = self("workbook.period.all_dates")
        policies = (
            self("workbook.period.policy", policy=period.policy_id)
            if period.policy_id
            else self("workbook.period.all_policies")
        )
        return self("workbook.period.both", days=days, policies=policies)

    def stamp(self, now: dt.datetime) -> str:
        """When a workbook was made, in the users' zone (the zone is named next to it)."""
        return localtime.local(now).strftime(localtime.SECONDS)

    def generated(self, now: dt.datetime, by: str) -> str:
        return self("workbook.generated", stamp=self.stamp(now), by=self.actor(by))
