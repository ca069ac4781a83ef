"""Compiled matcher vs the reference evaluator, firms per second.

    python -m bench.compile_vs_reference [--firms 20000] [--sample 2000] [--seed 2020]

The demo registry (`--firms` firms), five representative policies. The compiled side is timed
end to end for all policies together (compile, one `prepare` with the shared employee
aggregates, one `evaluate` per policy); the reference side runs `evaluate_firm` on a sample of
firms (building each firm's record included) and is extrapolated to the whole registry. Both
sides are checked to agree on the sample. Run by hand; no test asserts on time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from decimal import Decimal
from typing import Any

import polars as pl
import rule_engine

from matching.compiler import compile_policy, evaluate, prepare
from policies.language import ParameterValue, context, evaluate_firm, firm_record
from subsidy.registry import demo

PARAMETERS: dict[str, ParameterValue] = {
    "refund_rate": Decimal("0.5"),
    "since": dt.date(2020, 1, 1),
    "per_head": Decimal("1000"),
}
POLICIES: list[tuple[str, str, str, Decimal | None]] = [
    ("ui refund", "status == 'active' and not dishonest and ui_premium > 0",
     "ui_premium * refund_rate", Decimal("3000000")),
    ("new hires", "status == 'active' and tax_rating != 'D' and "
     "[e for e in employees if e.insured and e.hire_date >= since].length >= 3",
     "[e for e in employees if e.insured and e.hire_date >= since].length * per_head",
     Decimal("50000")),
    ("local wage support", "status == 'active' and size in ['micro', 'small']",
     "$sum([$min([e.monthly_wage, 4600]) for e in employees if e.local_hukou and e.insured])"
     " * 0.25", None),
    ("migrant workers", "[e for e in employees if not e.local_hukou and "
     "e.hire_date <= d'2020-01-15' and (e.leave_date == null or e.leave_date >= d'2020-02-29')]"
     ".length > 0",
     "[e for e in employees if not e.local_hukou and e.hire_date <= d'2020-01-15' and "
     "(e.leave_date == null or e.leave_date >= d'2020-02-29')].length * 500", Decimal("20000")),
    ("tech revenue", "high_tech and (industry =~ 'I6' or industry[:3] in ['M73', 'M75']) and "
     "(established - $today).days > -3650",
     "revenue > 10000000 ? $min([revenue * 0.005, 200000]) : revenue * 0.01", None),
]  # fmt: skip
AS_OF = demo.REFERENCE_DATE


def _compiled(enterprises: pl.DataFrame, employees: pl.DataFrame) -> tuple[float, pl.DataFrame]:
    start = time.perf_counter()
    compiled = [compile_policy(e, a, c, PARAMETERS, AS_OF) for _, e, a, c in POLICIES]
    firms = prepare(enterprises, employees, compiled)
    results = [evaluate(firms, policy) for policy in compiled]
    seconds = time.perf_counter() - start
    names = [name for name, *_ in POLICIES]
    table = pl.concat(
        [r.with_columns(pl.lit(n).alias("policy")) for n, r in zip(names, results, strict=True)]
    )
    return seconds, table


def _reference(sample: pl.DataFrame, employees: pl.DataFrame) -> tuple[float, list[Any]]:
    staff: dict[str, list[dict[str, Any]]] = {}
    for e in employees.filter(pl.col("uscc").is_in(sample["uscc"].implode())).iter_rows(named=True):
        staff.setdefault(e["uscc"], []).append(e)
    ctx = context(PARAMETERS, AS_OF)
    rules = [
        (rule_engine.Rule(e, context=ctx), rule_engine.Rule(a, context=ctx), c)
        for _, e, a, c in POLICIES
    ]
    start = time.perf_counter()
    outcomes = []
    for firm in sample.iter_rows(named=True):
        record = firm_record(firm, staff.get(firm["uscc"], []))
        outcomes.append([evaluate_firm(e, a, c, record) for e, a, c in rules])
    return time.perf_counter() - start, outcomes


def _agree(sample: pl.DataFrame, table: pl.DataFrame, outcomes: list[Any]) -> int:
    """Disagreements between the two on the sample (expected: 0)."""
    by_key = {(r[0], r[4]): r for r in table.iter_rows()}
    names = [name for name, *_ in POLICIES]
    wrong = 0
    for uscc, row in zip(sample["uscc"], outcomes, strict=True):
        for name, out in zip(names, row, strict=True):
            _, q, amount, err, _ = by_key[(uscc, name)]
            wrong += (q, amount, err) != (out.qualifies, out.amount, out.error is not None)
    return wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--firms", type=int, default=20_000)
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=2020)
    args = parser.parse_args()
    enterprises, employees = demo.generate(args.firms, args.seed)
    print(
        f"registry: {enterprises.height:,} firms, {employees.height:,} employees, "
        f"{len(POLICIES)} policies"
    )
    _compiled(enterprises.head(100), employees)  # warm up polars
    seconds, table = _compiled(enterprises, employees)
    sample = enterprises.sample(min(args.sample, enterprises.height), seed=args.seed)
    ref_seconds, outcomes = _reference(sample, employees)
    ref_total = ref_seconds * enterprises.height / sample.height
    print(
        f"compiled : {seconds:8.3f} s for all firms x policies, "
        f"{enterprises.height / seconds:12,.0f} firms/s (all policies)"
    )
    print(
        f"reference: {ref_seconds:8.3f} s for {sample.height:,} firms, "
        f"{sample.height / ref_seconds:12,.0f} firms/s; {ref_total:.1f} s extrapolated"
    )
    print(f"ratio    : compiled is {ref_total / seconds:,.0f}x faster")
    print(f"disagreements on the sample: {_agree(sample, table, outcomes)}")
    qualified = table.group_by("policy").agg(pl.col("qualifies").sum(), pl.col("error").sum())
    print(qualified.sort("policy"))


if __name__ == "__main__":
    main()
