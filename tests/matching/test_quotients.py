"""Quotients computed by polars with a bound (matching/_approx.py) against rule-engine.

Values are drawn where the bound matters: multiples of the divisors (quotients that land on a
comparison's constant or on a half-fen), tiny and huge amounts, zeros and nulls.
"""

from __future__ import annotations

import random
from decimal import Decimal

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.matching._reference import compiled, reference
from tests.matching._strategies import AS_OF, PARAMETERS, make_registry

_DIVISORS = ["3", "7", "12", "0.3", "400", "revenue", "tax_paid", "ui_premium", "rate"]
_COLUMNS = ["revenue", "tax_paid", "ui_premium"]
_CONSTANTS = ["0", "0.5", "0.02", "1", "3", "250", "0.025", "1000000"]
_CMP = ["<", "<=", ">", ">=", "==", "!="]


def _money(rnd: random.Random) -> Decimal | None:
    pick = rnd.random()
    if pick < 0.1:
        return None
    if pick < 0.2:
        return Decimal("0.00")
    if pick < 0.6:  # multiples of the divisors: quotients on boundaries
        unit = Decimal(rnd.choice(["0.01", "0.03", "0.07", "0.12", "0.25", "1.00", "0.10"]))
        return unit * rnd.randint(1, 400)
    if pick < 0.7:
        return Decimal("99999999999999.99") - Decimal(rnd.randint(0, 10)) / 100
    return Decimal(rnd.randint(-100, 10**9)) / 100


def _registry(seed: int, firms: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    rnd = random.Random(seed)
    enterprises, employees = make_registry(firms, seed)
    columns = {
        name: pl.Series(name, [_money(rnd) for _ in range(firms)], dtype=pl.Decimal(16, 2))
        for name in _COLUMNS
    }
    return enterprises.with_columns(columns.values()), employees


def _quotient(rnd: random.Random, depth: int = 0) -> str:
    base = f"{rnd.choice(_COLUMNS)} / {rnd.choice(_DIVISORS)}"
    shape = rnd.random()
    if depth > 1 or shape < 0.35:
        return base
    if shape < 0.55:
        return (
            f"({_quotient(rnd, depth + 1)}) * {rnd.choice(['3', '12', '0.5', 'rate', 'revenue'])}"
        )
    if shape < 0.7:
        return (
            f"({_quotient(rnd, depth + 1)}) {rnd.choice(['+', '-'])} ({_quotient(rnd, depth + 1)})"
        )
    if shape < 0.8:
        return f"-({_quotient(rnd, depth + 1)})"
    if shape < 0.9:
        return f"({_quotient(rnd, depth + 1)}) / {rnd.choice(['3', '7', 'revenue'])}"
    return f"({_quotient(rnd, depth + 1)}) {rnd.choice(['+', '-'])} {rnd.choice(_COLUMNS)}"


def _rule(seed: int) -> tuple[str, str]:
    rnd = random.Random(seed)
    right = rnd.choice(_CONSTANTS + _COLUMNS + [_quotient(rnd, 1)])
    eligibility = f"{_quotient(rnd)} {rnd.choice(_CMP)} {right}"
    if rnd.random() < 0.3:
        eligibility = "true"
    return eligibility, rnd.choice([_quotient(rnd), "1", f"$min([{_quotient(rnd)}, 5000])"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registry_seed=st.integers(0, 2**32), rule_seed=st.integers(0, 2**32))
def test_quotients_agree_with_rule_engine_on_every_firm(registry_seed: int, rule_seed: int) -> None:
    enterprises, employees = _registry(registry_seed, 25)
    eligibility, amount = _rule(rule_seed)
    got = compiled(enterprises, employees, eligibility, amount, None, PARAMETERS, AS_OF)
    want = reference(enterprises, employees, eligibility, amount, None, PARAMETERS, AS_OF)
    assert got == want, (eligibility, amount)


def test_boundary_quotients_agree_with_rule_engine() -> None:
    # A premium of 1208.02: / 12 is rounded at 28 digits before * 3, giving 302.00, not 302.01.
    premiums = ["1208.02", "0.10", "0.02", "0.06", "1.00", "3.00", "2.00", "0.01", "400.00"]
    enterprises, employees = make_registry(len(premiums), 3)
    firms = enterprises.with_columns(
        pl.Series("ui_premium", [Decimal(p) for p in premiums], dtype=pl.Decimal(16, 2)),
        pl.Series("revenue", [Decimal(p) * 3 for p in premiums], dtype=pl.Decimal(16, 2)),
    )
    for eligibility, amount in [
        ("true", "ui_premium / 12 * 3"),
        ("ui_premium / revenue * 3 == 1", "1"),
        ("ui_premium / revenue >= 1 / 3", "ui_premium / 3 * 3"),
        ("revenue / 3 == ui_premium", "revenue / 3"),
        ("ui_premium / 400 < 0.005", "ui_premium / 400 * 1000"),
    ]:
        got = compiled(firms, employees, eligibility, amount, None, PARAMETERS, AS_OF)
        want = reference(firms, employees, eligibility, amount, None, PARAMETERS, AS_OF)
        assert got == want, (eligibility, amount)
    got = compiled(firms, employees, "true", "ui_premium / 12 * 3", None, PARAMETERS, AS_OF)
    assert got[0][2] == Decimal("302.00")
