"""Money is yuan as `Decimal` with two places, rounded half-up to the fen. Never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")


def to_yuan(value: Decimal | int | str) -> Decimal:
    """The amount rounded half-up to the fen; floats are refused, they cannot hold a fen exactly."""
    if isinstance(value, float):
        raise TypeError("money must not be a float; pass a Decimal, an int or a string")
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)
