"""Amounts in capital numerals (大写金额): the examples of the People's Bank's rules, and for every
amount up to 10^12 yuan with two decimals, a reading an independent parser turns back into the
same amount, written by the rules (no 零 twice, none before a unit, 整 exactly without fen)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subsidy.capitals import DIGITS, LARGEST, NotAnAmount, in_capitals

EXAMPLES = {
    "500.00": "人民币伍佰元整",
    "0.00": "人民币零元整",
    "16.00": "人民币壹拾陆元整",  # 拾 always with its digit
    "10.00": "人民币壹拾元整",
    "1409.50": "人民币壹仟肆佰零玖元伍角整",
    "6007.14": "人民币陆仟零柒元壹角肆分",  # a run of zeros: one 零
    "1680.32": "人民币壹仟陆佰捌拾元叁角贰分",
    "107000.53": "人民币壹拾万零柒仟元伍角叁分",
    "325.04": "人民币叁佰贰拾伍元零肆分",
    "1.05": "人民币壹元零伍分",
    "0.05": "人民币伍分",
    "0.50": "人民币伍角整",
    "100010.00": "人民币壹拾万零壹拾元整",
    "100000005.00": "人民币壹亿零伍元整",
    "101000000.00": "人民币壹亿零壹佰万元整",
    "110000000.00": "人民币壹亿壹仟万元整",
    "50000010000.00": "人民币伍佰亿零壹万元整",
    "1000000000000.00": "人民币壹万亿元整",
    "999999999999.99": "人民币玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分",
}


@pytest.mark.parametrize(("figures", "words"), EXAMPLES.items())
def test_the_rules_examples(figures: str, words: str) -> None:
    assert in_capitals(Decimal(figures)) == words


@pytest.mark.parametrize("bad", ["-0.01", "0.001", "1000000000000.01", "NaN", "Infinity"])
def test_what_is_not_an_amount_is_refused(bad: str) -> None:
    with pytest.raises(NotAnAmount):
        in_capitals(Decimal(bad))


def test_a_float_is_refused() -> None:
    with pytest.raises(NotAnAmount):
        in_capitals(500.0)  # type: ignore[arg-type]


_VALUE = {d: i for i, d in enumerate(DIGITS)}
_UNIT = {"拾": 10, "佰": 100, "仟": 1000}


def parsed(words: str) -> Decimal:
    """A reading back to its amount, by the textbook algorithm (not the writer's)."""
    assert words.startswith("人民币")
    body = words.removeprefix("人民币").removesuffix("整")
    yuan_part, _, decimals = body.rpartition("元") if "元" in body else ("", "", body)
    total = section = number = 0
    for char in yuan_part:
        if char in _VALUE:
            number = _VALUE[char]
        elif char in _UNIT:
            assert number, f"{char} without its digit in {words}"
            section += number * _UNIT[char]
            number = 0
        elif char == "万":
            section = (section + number) * 10**4
            number = 0
        elif char == "亿":
            total = (total + section + number) * 10**8
            section = number = 0
        else:
            raise AssertionError(f"{char!r} in {words}")
    fen = (total + section + number) * 100
    for amount in re.findall(r"([壹贰叁肆伍陆柒捌玖])([角分])", decimals):
        fen += _VALUE[amount[0]] * (10 if amount[1] == "角" else 1)
    assert re.fullmatch(r"零?([壹贰叁肆伍陆柒捌玖]角)?零?([壹贰叁肆伍陆柒捌玖]分)?", decimals)
    return Decimal(fen) / 100


amounts = st.decimals(
    min_value=Decimal(0), max_value=LARGEST, places=2, allow_nan=False, allow_infinity=False
)
# Small and round amounts are where the zeros are: draw them often too.
round_amounts = st.builds(
    lambda digit, power, cents: min(Decimal(digit) * 10**power + Decimal(cents) / 100, LARGEST),
    st.integers(1, 9),
    st.integers(0, 12),
    st.sampled_from([0, 1, 5, 10, 50, 99]),
)


@given(st.one_of(amounts, round_amounts))
def test_every_amount_reads_back_as_itself(amount: Decimal) -> None:
    assert parsed(in_capitals(amount)) == amount


@given(st.one_of(amounts, round_amounts))
def test_every_amount_is_written_by_the_rules(amount: Decimal) -> None:
    words = in_capitals(amount)
    body = words.removeprefix("人民币")
    assert set(body) <= set(DIGITS + "拾佰仟万亿元角分整")
    assert "零零" not in body
    assert not re.search("零[拾佰仟万亿角分整]", body), words  # 零 never before a unit
    assert not re.search("零元", body) or amount == 0
    assert body.endswith("整") == (amount * 100 % 10 == 0)  # 整 exactly when there are no fen
    assert not re.match("[拾佰仟]", body)  # 拾 never without its digit
    assert ("元" in body) == (amount >= 1 or amount == 0)
