"""The reference evaluation of a policy over a whole registry, firm by firm, for comparison."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

import polars as pl
import rule_engine

from matching.compiler import compile_policy, evaluate, prepare
from policies.language import ParameterValue, context, evaluate_firm, firm_record
from subsidy.registry.catalog import BUILTIN, Catalog

Row = tuple[str, bool, Decimal | None, bool]


def reference(
    enterprises: pl.DataFrame,
    employees: pl.DataFrame,
    eligibility: str,
    amount: str,
    cap: Decimal | None,
    parameters: Mapping[str, ParameterValue],
    as_of: dt.date,
    catalog: Catalog = BUILTIN,
) -> list[Row]:
    ctx = context(parameters, as_of, catalog)
    elig = rule_engine.Rule(eligibility, context=ctx)
    amt = rule_engine.Rule(amount, context=ctx)
    staff: dict[str, list[dict[str, object]]] = {}
    for e in employees.iter_rows(named=True):
        staff.setdefault(e["uscc"], []).append(e)
    rows: list[Row] = []
    for firm in enterprises.iter_rows(named=True):
        record = firm_record(firm, staff.get(firm["uscc"], []), catalog)
        out = evaluate_firm(elig, amt, cap, record)
        rows.append((firm["uscc"], out.qualifies, out.amount, out.error is not None))
    return rows


def compiled(
    enterprises: pl.DataFrame,
    employees: pl.DataFrame,
    eligibility: str,
    amount: str,
    cap: Decimal | None,
    parameters: Mapping[str, ParameterValue],
    as_of: dt.date,
    catalog: Catalog = BUILTIN,
) -> list[Row]:
    policy = compile_policy(eligibility, amount, cap, parameters, as_of, catalog)
    result = evaluate(prepare(enterprises, employees, [policy]), policy)
    return [(u, bool(q), a, bool(e)) for u, q, a, e in result.iter_rows()]
