"""Amounts in Chinese capital numerals (大写金额), as a payment voucher writes them.

The rules are those of the People's Bank of China for filling in vouchers (《支付结算办法》附件一
《正确填写票据和结算凭证的基本规定》): the digits 零壹贰叁肆伍陆柒捌玖, the units 拾佰仟万亿,
元角分; 人民币 before the amount; 整 after 元 (and after 角) when there are no fen; 拾 always
with its digit (16.00 is 壹拾陆元整); one 零 for a run of zero digits inside the yuan; 零 between
元 and 分 when 角 is zero (1.05 is 壹元零伍分). Where the rules allow writing one 零 or none (a
zero units digit before 角), none is written: 1680.32 is 壹仟陆佰捌拾元叁角贰分; inside the yuan
the zeros between 万 and 仟 are read, 107000.53 is 壹拾万零柒仟元伍角叁分 (the rules' examples).
"""

from __future__ import annotations

from decimal import Decimal

DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS = ("", "拾", "佰", "仟")
PREFIX = "人民币"
LARGEST = Decimal(10) ** 12
"""The largest amount written: 壹万亿元整 (far beyond any budget)."""


class NotAnAmount(ValueError):
    """Not an amount of yuan with at most two decimals, from zero up to `LARGEST`."""


def in_capitals(amount: Decimal) -> str:
    """Decimal('500.00') -> '人民币伍佰元整'; Decimal('1409.50') -> '人民币壹仟肆佰零玖元伍角整'."""
    fen = _fen(amount)
    yuan, rest = divmod(fen, 100)
    jiao, cents = divmod(rest, 10)
    if fen == 0:
        return PREFIX + "零元整"
    words = _integer(yuan) + "元" if yuan else ""
    if jiao:
        words += DIGITS[jiao] + "角"
    elif cents and yuan:
        words += "零"
    if cents:
        return PREFIX + words + DIGITS[cents] + "分"
    return PREFIX + words + "整"


def _fen(amount: Decimal) -> int:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise NotAnAmount(f"{amount!r} is not a Decimal amount")
    if amount < 0 or amount > LARGEST:
        raise NotAnAmount(f"{amount} is outside 0 .. {LARGEST} yuan")
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise NotAnAmount(f"{amount} has more than two decimals")
    return int(fen)


def _integer(value: int) -> str:
    """A positive integer read in groups of four digits: 亿 above 万 above the units."""
    if value >= 10**8:
        high, low = divmod(value, 10**8)
        return _integer(high) + "亿" + _rest(high, low, 10**7)
    if value >= 10**4:
        high, low = divmod(value, 10**4)
        return _group(high) + "万" + _rest(high, low, 10**3)
    return _group(value)


def _rest(high: int, low: int, place: int) -> str:
    """What follows a 亿 or 万: nothing, or the lower part with one 零 for the zeros between
    them: the lower part starts below `place` (100,010 is 壹拾万零壹拾) or the higher part ends
    in zero (107,000 is 壹拾万零柒仟, as the rules' own example)."""
    if low == 0:
        return ""
    return ("零" if low < place or high % 10 == 0 else "") + _integer(low)


def _group(value: int) -> str:
    """1 to 9999: 壹仟零壹, 壹仟零壹拾, 壹拾陆 (拾 always with its digit)."""
    words, zero = "", False
    for place in (3, 2, 1, 0):
        digit = value // 10**place % 10
        if digit == 0:
            zero = bool(words)
            continue
        if zero:
            words += "零"
            zero = False
        words += DIGITS[digit] + _UNITS[place]
    return words
