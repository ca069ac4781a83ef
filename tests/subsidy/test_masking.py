"""Personal data is masked wherever the platform shows it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from subsidy.masking import mask


@given(st.text(min_size=0, max_size=40))
def test_mask_keeps_length_and_at_most_the_last_four(value: str) -> None:
    masked = mask(value)
    assert masked is not None
    assert len(masked) == len(value)
    shown = masked.lstrip("*")
    assert len(shown) <= 4
    if len(value) > 4:
        assert masked.endswith(value[-4:])
        assert masked[: len(value) - 4] == "*" * (len(value) - 4)
    else:
        assert masked == "*" * len(value)


def test_nothing_to_mask() -> None:
    assert mask(None) is None
