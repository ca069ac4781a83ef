"""Compiled matcher vs the reference evaluator, firms per second.

    python -m bench.compile_vs_reference [--firms 20000] [--sample 2000] [--seed 2020]

The demo registry (`--firms` firms), the example policies of `policies/examples/` and four
policies written for this benchmark with what the compiler leaves to rule-engine (a quotient of
two columns, `ui_premium / 12 * 3`, `//` of a count, `??`, a case-insensitive regex over every
firm's distinct name), evaluated once per distinct input. The compiled side is timed
end to end for all policies together (compile, one `prepare` with the shared employee
aggregates, one `evaluate` per policy); the reference side runs `evaluate_firm` on a sample of
firms (building each firm's record included) and is extrapolated to the whole registry. Both
sides are checked to agree on the sample. Run by hand; no test asserts on time.
"""

from __future__ import annotations

import argparse
import time
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from matching.compiler import compile_policy, evaluate, prepare
from policies.checking import parameters_of, rules_for
from policies.document import PolicyDocument, load_path
from policies.language import evaluate_firm, firm_record
from subsidy.registry import demo

EXAMPLES = resources.files("policies") / "examples"


def example_policies() -> list[PolicyDocument]:
    files = sorted((f for f in EXAMPLES.iterdir() if f.name.endswith(".yaml")), key=str)
    return [load_path(Path(str(f))) for f in files]


def _policy(key: str, eligibility: str, amount: str) -> PolicyDocument:
    return PolicyDocument.model_validate(
        {
            "id": f"bench-{key}",
            "title": f"bench {key}",
            "department": "bench",
            "basis": "bench",
            "valid_from": "2020-01-01",
            "valid_to": "2020-12-31",
            "budget": 10**9,
            "mode": "one-click",
            "eligibility": eligibility,
            "amount": amount,
        }
    )


REGIONS = [
    _policy("tax-share", "revenue > 0 and tax_paid / revenue >= 0.02", "tax_paid * 0.1"),
    _policy("premium-months", "(revenue ?? 0) > 1000000 and ui_premium > 0", "ui_premium / 12 * 3"),
    _policy(
        "per-ten", "status == 'active'", "[e for e in employees if e.insured].length // 10 * 5000"
    ),
    _policy("tech-name", "name =~~ '(?i)科技|tech'", "10000"),
]
"""Policies that need rule-engine for part of their rules (see matching/_python.py)."""

POLICIES = example_policies() + REGIONS
AS_OF = demo.REFERENCE_DATE


def _compiled(
    enterprises: pl.DataFrame, employees: pl.DataFrame
) -> tuple[float, float, pl.DataFrame]:
    """(seconds end to end, seconds without compiling, outcomes)."""
    start = time.perf_counter()
    compiled = [
        compile_policy(d.eligibility, d.amount, d.cap, parameters_of(d), AS_OF) for d in POLICIES
    ]
    compiled_at = time.perf_counter()
    firms = prepare(enterprises, employees, compiled)
    results = [evaluate(firms, policy) for policy in compiled]
    end = time.perf_counter()
    names = [d.id for d in POLICIES]
    table = pl.concat(
        [r.with_columns(pl.lit(n).alias("policy")) for n, r in zip(names, results, strict=True)]
    )
    return end - start, end - compiled_at, table


def _reference(sample: pl.DataFrame, employees: pl.DataFrame) -> tuple[float, list[Any]]:
    staff: dict[str, list[dict[str, Any]]] = {}
    for e in employees.filter(pl.col("uscc").is_in(sample["uscc"].implode())).iter_rows(named=True):
        staff.setdefault(e["uscc"], []).append(e)
    rules = [(*rules_for(d, AS_OF), d.cap) for d in POLICIES]
    start = time.perf_counter()
    outcomes = []
    for firm in sample.iter_rows(named=True):
        record = firm_record(firm, staff.get(firm["uscc"], []))
        outcomes.append([evaluate_firm(e, a, c, record) for e, a, c in rules])
    return time.perf_counter() - start, outcomes


def _agree(sample: pl.DataFrame, table: pl.DataFrame, outcomes: list[Any]) -> int:
    """Disagreements between the two on the sample (expected: 0)."""
    by_key = {(r[0], r[4]): r for r in table.iter_rows()}
    names = [d.id for d in POLICIES]
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
    seconds, evaluating, table = _compiled(enterprises, employees)
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
    print(
        f"           {evaluating:8.3f} s of it evaluating (prepare + evaluate, without compiling)"
    )
    print(f"ratio    : compiled is {ref_total / seconds:,.0f}x faster end to end")
    print(f"           {ref_total / evaluating:,.0f}x faster per firm once compiled")
    print(f"disagreements on the sample: {_agree(sample, table, outcomes)}")
    qualified = table.group_by("policy").agg(pl.col("qualifies").sum(), pl.col("error").sum())
    print(qualified.sort("policy"))


if __name__ == "__main__":
    main()
