"""Simulated bank micro-benchmark (issue 5): how fast items go through `SimulatedBank`.

    python -m bench.bank [--items 160000] [--batch 1000]

Times, on a fresh bank file each, zero latency: submitting every item once in batches with no
faults; the same with the default faults, resubmitting a batch until it is answered; resubmitting
everything (all already known); querying everything. Run by hand; the tests never time anything.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from payouts.gateways import (
    Faults,
    ItemResult,
    OutcomeUnknown,
    PaymentInstruction,
    SimulatedBank,
    TransientBankError,
)


def make_instructions(count: int) -> list[PaymentInstruction]:
    return [
        PaymentInstruction(
            idempotency_key=f"payout-{n // 1000:04d}-item-{n:08d}",
            batch_ref=f"B{n // 1000:04d}",
            payee_uscc=f"91330106{n:09d}X",
            payee_name=f"杭州测试{n}科技有限公司",
            bank_code="ICBC",
            account=f"622202{n:013d}",
            amount=Decimal(1000 + n % 50_000) + Decimal("0.50"),
            memo="hz-2020-ui-refund",
        )
        for n in range(count)
    ]


def answered(bank: SimulatedBank, batch: list[PaymentInstruction]) -> list[ItemResult]:
    """Resubmit through busy refusals and lost answers, as the payout batches do."""
    while True:
        try:
            return bank.submit(batch)
        except (TransientBankError, OutcomeUnknown):
            continue


def timed(label: str, items: int, run: Callable[[], object]) -> None:
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    print(f"{label:<40} {seconds:6.2f} s  {items / seconds:>9,.0f} items/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=int, default=160_000)
    parser.add_argument("--batch", type=int, default=1_000)
    options = parser.parse_args()
    everything = make_instructions(options.items)
    batches = [everything[i : i + options.batch] for i in range(0, len(everything), options.batch)]
    keys = [[i.idempotency_key for i in batch] for batch in batches]
    n = options.items
    with tempfile.TemporaryDirectory() as folder:
        perfect = SimulatedBank(Path(folder) / "perfect.db", Faults.none())
        faulty = SimulatedBank(Path(folder) / "faulty.db", Faults(seed=1))
        timed("submit, no faults", n, lambda: [perfect.submit(b) for b in batches])
        timed(
            "submit, default faults, until answered",
            n,
            lambda: [answered(faulty, b) for b in batches],
        )
        timed("resubmit, every key known", n, lambda: [perfect.submit(b) for b in batches])
        timed("query", n, lambda: [perfect.query(k) for k in keys])
        print(faulty.stats())


if __name__ == "__main__":
    main()
