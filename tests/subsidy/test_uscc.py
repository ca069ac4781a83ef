"""The vectorised USCC check agrees with python-stdnum on every input."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from subsidy.registry.uscc import ALPHABET, check_character, problem_expr, problems

well_shaped = st.builds(
    lambda digits, rest: digits + rest,
    st.text("0123456789", min_size=8, max_size=8),
    st.text(ALPHABET, min_size=10, max_size=10),
)
anything = st.text(ALPHABET + "IOSVZa -", max_size=20)


@given(st.lists(st.one_of(well_shaped, anything), min_size=1, max_size=50))
def test_vectorised_check_agrees_with_stdnum(codes: list[str]) -> None:
    problems = pl.select(problem_expr(pl.lit(pl.Series(codes, dtype=pl.String)))).to_series()
    for code, problem in zip(codes, problems, strict=True):
        assert (problem is None) == stdnum_uscc.is_valid(code) or code != code.strip().upper()


@given(st.text("0123456789", min_size=8, max_size=8), st.text(ALPHABET, min_size=9, max_size=9))
def test_the_right_check_character_is_named(digits: str, rest: str) -> None:
    first17 = digits + rest
    right = check_character(first17)
    wrong = ALPHABET[(ALPHABET.index(right) + 1) % len(ALPHABET)]
    found = pl.select(problem_expr(pl.lit(pl.Series([first17 + right, first17 + wrong]))))
    assert found.to_series().to_list() == [
        None,
        f"has a wrong check character: expected {right}",
    ]


@given(st.lists(st.one_of(well_shaped, anything, st.none()), min_size=1, max_size=30))
def test_checking_distinct_codes_gives_the_answer_of_every_row(codes: list[str | None]) -> None:
    series = pl.Series(codes + codes, dtype=pl.String)
    per_row = pl.select(problem_expr(pl.lit(series))).to_series()
    assert problems(series).to_list() == per_row.to_list()
