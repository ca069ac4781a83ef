"""The one in-force check: a policy gives something only on a date inside its validity window,
both ends included, and says why not in both languages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from policies.validity import in_force, out_of_force


@dataclass(frozen=True)
class Window:
    id: str
    valid_from: dt.date
    valid_to: dt.date


days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31))


@given(days, days, days)
def test_in_force_exactly_within_the_window(a: dt.date, b: dt.date, day: dt.date) -> None:
    window = Window("p", min(a, b), max(a, b))
    why = out_of_force(window, day)
    assert in_force(window, day) is (window.valid_from <= day <= window.valid_to)
    assert (why is None) is in_force(window, day)
    if why is not None:
        assert why.not_yet is (day < window.valid_from)
        assert why.as_of == day


def test_why_not_in_both_languages() -> None:
    window = Window("p", dt.date(2020, 1, 20), dt.date(2020, 5, 31))
    expired = out_of_force(window, dt.date(2020, 6, 30))
    assert expired is not None
    assert (
        str(expired) == "policy not in force on 2020-06-30 (expired): valid 2020-01-20 … 2020-05-31"
    )
    assert expired.text("zh") == "政策在 2020-06-30 已过期：有效期 2020-01-20 至 2020-05-31"
    early = out_of_force(window, dt.date(2020, 1, 19))
    assert early is not None
    assert early.text("en").startswith("policy not in force on 2020-01-19 (not yet valid)")
    assert early.text("zh").startswith("政策在 2020-01-19 尚未生效")
    assert out_of_force(window, dt.date(2020, 1, 20)) is None
    assert out_of_force(window, dt.date(2020, 5, 31)) is None
