"""Disbursement report benchmark (issue 6): a ledger of 1,000,000 payout items.

    python -m bench.report [--rows 1000000] [--firms 20000] [--rebuild]

The data is a real database: a SQLite file (cached in bench/data/report-ROWS/) holding the
20,000-firm demo registry, 50 published policies, one redemption per firm and policy, and one
payout item per redemption (92 % paid over 50 days, 3 % returned, 2 % failed, 3 % pending or
submitted; 1 % with a clawback offset), with ledger postings for the payments.

Two measurements, each in a fresh subprocess so that its peak memory (VmHWM) is its own:

* export: `reports.disbursements.write` over the whole database: the four sheets (summary
  aggregates and charts, the streamed ledger, budgets, exceptions), exactly what
  `qinqing report disbursements` writes;
* bare: the least code that writes the same ledger cells: one SQL query read with the sqlite3
  module's cursor, an openpyxl write-only sheet, the date and the three amounts as styled cells,
  the other values passed to `append` as they are.

It then checks that both ledgers hold the same cells (the first and last rows) and prints the
times, the ratio (bare time / export time: the export's speed relative to the bare loop) and the
peak memory of each. Run by hand; the tests never time anything.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, cast

from bench._common import DATA, registry_files

POLICIES = 50


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def _peak_mb() -> float:
    """This process's peak resident memory. Not ru_maxrss: Linux carries that over an exec from
    the process that forked, so a child would report its parent's peak."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# -- the database --------------------------------------------------------------------------------


def build(folder: Path, rows: int, firms: int) -> Path:
    """The benchmark database in `folder` (reused when it already holds `rows` items)."""
    import polars as pl
    from sqlalchemy import func, select

    from payouts.models import PayoutItem
    from subsidy import db

    path = folder / "qinqing.db"
    if path.exists():
        engine = db.make_engine(f"sqlite:///{path}")
        with engine.connect() as connection:
            found = connection.execute(select(func.count()).select_from(PayoutItem)).scalar()
        engine.dispose()
        if found == rows:
            return path
        path.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    _registry(engine, folder, firms)
    policy_ids = _policies(engine)
    with db.session_scope(engine) as session:
        connection = session.connection()
        enterprises = pl.read_database(
            "SELECT uscc, name, bank_account FROM enterprise ORDER BY uscc", connection
        )
        _payouts(connection, enterprises, policy_ids, rows)
    engine.dispose()
    print(f"built {rows:,} payout items in {time.perf_counter() - started:.0f} s: {path}")
    return path


def _registry(engine: Any, folder: Path, firms: int) -> None:
    from subsidy import db
    from subsidy.registry import service as registry_service

    enterprises, employees = registry_files(firms)
    with db.session_scope(engine) as session:
        registry_service.import_registry(session, enterprises, employees, data_dir=folder)


def _policies(engine: Any) -> list[str]:
    from policies import service as policy_service
    from policies.document import load_path
    from subsidy import db

    example = resources.files("policies") / "examples" / "hz-2020-ui-refund.yaml"
    base = load_path(Path(str(example)))
    tests = [
        t.model_copy(update={"expect": t.expect.model_copy(update={"amount": None})})
        for t in base.tests
        if t.expect.eligible
    ]
    ids = []
    with db.session_scope(engine) as session:
        for n in range(POLICIES):
            document = base.model_copy(
                update={
                    "id": f"bench-{n:02d}",
                    "title": f"Benchmark subsidy {n:02d}",
                    "eligibility": "status == 'active'",
                    "amount": "1000",
                    "cap": None,
                    "budget": Decimal("1000000000"),
                    "tests": tests,
                }
            )
            approved = policy_service.approve(document, f"bench-{n:02d}.yaml")
            policy_service.publish(session, approved, by="bench")
            ids.append(document.id)
    return ids


def _payouts(connection: Any, firms: Any, policy_ids: list[str], rows: int) -> None:
    import polars as pl

    from payouts.models import PayoutBatch, PayoutItem
    from subsidy import bulk
    from subsidy.ledger.models import LedgerEntry
    from subsidy.redemption.models import PolicyBudget, Redemption

    money = pl.Decimal(16, 2)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    pairs = (
        firms.with_row_index("firm")
        .join(pl.DataFrame({"policy_id": policy_ids}).with_row_index("policy"), how="cross")
        .head(rows)
        .with_row_index("id", offset=1)
    )
    if pairs.height < rows:
        raise SystemExit(f"{firms.height} firms x {len(policy_ids)} policies < {rows} rows")
    i = pl.col("id") - 1
    r = i % 100
    state = (
        pl.when(r < 92)
        .then(pl.lit("paid"))
        .when(r < 95)
        .then(pl.lit("returned"))
        .when(r < 97)
        .then(pl.lit("failed"))
        .when(r < 98)
        .then(pl.lit("pending"))
        .otherwise(pl.lit("submitted"))
    )
    fen = (pl.col("firm") * 7919 + pl.col("policy") * 104_729) % 3_000_000 + 100
    amount = (fen.cast(pl.Int64).cast(money) / 100).cast(money)
    items = pairs.with_columns(
        state.alias("state"),
        amount.alias("amount"),
        ((i // 1000) + 1).cast(pl.Int64).alias("batch_id"),
    ).with_columns(
        pl.when(r == 7)
        .then(pl.min_horizontal(pl.col("amount"), pl.lit(Decimal("200.00")).cast(money)))
        .otherwise(pl.lit(Decimal("0.00")).cast(money))
        .cast(money)
        .alias("offset"),
    )
    now = pl.lit(start) + pl.duration(seconds=i * 4)
    items = items.with_columns(
        (pl.col("amount") - pl.col("offset")).cast(money).alias("net"),
        pl.col("id").alias("redemption_id"),
        pl.col("name").alias("payee_name"),
        pl.lit("ICBC").alias("bank_code"),
        pl.coalesce(
            pl.col("bank_account"), pl.format("62220200{}", pl.col("id").cast(pl.String))
        ).alias("account"),
        pl.when(r < 92)
        .then(pl.lit(start.date()) + pl.duration(days=i * 50 // rows))
        .otherwise(None)
        .cast(pl.Date)
        .alias("paid_on"),
        pl.when(r < 95)
        .then(pl.format("BK{}", pl.col("id").cast(pl.String).str.zfill(12)))
        .otherwise(None)
        .alias("bank_reference"),
        pl.when(r >= 92)
        .then(pl.when(r < 95).then(pl.lit("R01")).otherwise(pl.lit("T02")))
        .otherwise(None)
        .alias("reason_code"),
        pl.when(r >= 92)
        .then(pl.when(r < 95).then(pl.lit("account closed")).otherwise(pl.lit("bank busy")))
        .otherwise(None)
        .alias("reason"),
        pl.lit(1).alias("attempts"),
        now.alias("created_at"),
        now.alias("updated_at"),
    )
    redemption = items.select(
        "id",
        "uscc",
        "policy_id",
        pl.lit(1).alias("policy_version"),
        "amount",
        pl.when(pl.col("state") == "paid")
        .then(pl.lit("paid"))
        .when(pl.col("state") == "returned")
        .then(pl.lit("returned"))
        .otherwise(pl.lit("paying"))
        .alias("status"),
        pl.format("bench-{}", pl.col("id")).alias("idempotency_key"),
        "created_at",
        pl.lit("bench").alias("changed_by"),
    )
    table = Redemption.__table__  # type: ignore[attr-defined]
    with bulk.indexes_rebuilt_after(connection, table):
        bulk.insert_frame(connection, table, redemption)
    budgets = redemption.group_by("policy_id").agg(pl.col("amount").sum().alias("reserved"))
    budgets = budgets.with_columns(
        pl.lit(Decimal("1000000000")).cast(money).alias("budget"),
        pl.col("reserved").cast(money),
    )
    bulk.insert_frame(connection, PolicyBudget.__table__, budgets)  # type: ignore[attr-defined]
    batches = items.group_by("batch_id").agg(
        pl.len().alias("items"), pl.col("amount").sum().cast(money).alias("total")
    )
    bulk.insert_frame(
        connection,
        PayoutBatch.__table__,  # type: ignore[attr-defined]
        batches.select(
            pl.col("batch_id").alias("id"),
            pl.lit("ICBC").alias("bank_code"),
            pl.lit("done").alias("state"),
            pl.col("items").cast(pl.Int64),
            "total",
            pl.lit(start).alias("created_at"),
        ),
    )
    columns = [c.name for c in PayoutItem.__table__.columns if c.name != "next_attempt_at"]  # type: ignore[attr-defined]
    table = PayoutItem.__table__  # type: ignore[attr-defined]
    with bulk.indexes_rebuilt_after(connection, table):
        bulk.insert_frame(connection, table, items.select(columns))
    paid = items.filter(pl.col("state") == "paid")
    ledger = paid.select(
        pl.col("updated_at").alias("at"),
        "policy_id",
        "uscc",
        "redemption_id",
        pl.col("id").alias("payout_item_id"),
        pl.lit("payable").alias("source"),
        pl.lit("paid").alias("target"),
        "amount",
        pl.lit("paid").alias("memo"),
    )
    table = LedgerEntry.__table__  # type: ignore[attr-defined]
    with bulk.indexes_rebuilt_after(connection, table):
        bulk.insert_frame(connection, table, ledger)


# -- the two measurements ------------------------------------------------------------------------


class Stages:
    """A `Progress` that records the CPU seconds of each stage of the export."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self._stage: str | None = None
        self._started = time.process_time()

    def stage(self, name: str, total: int | None = None) -> None:
        self.close()
        self._stage, self._started = name, time.process_time()

    def advance(self, units: int) -> None:
        pass

    def close(self) -> None:
        if self._stage is not None:
            self.cpu[self._stage] = time.process_time() - self._started
            self._stage = None


def measure_export(database: Path, out: Path) -> dict[str, Any]:
    from reports import disbursements
    from reports.queries import Period
    from subsidy import db

    engine = db.make_engine(f"sqlite:///{database}")
    before = _rss_mb()
    stages = Stages()
    started, cpu = time.perf_counter(), time.process_time()
    with db.session_scope(engine) as session:
        written = disbursements.write(session, Period(), out, by="bench", progress=stages)
    stages.close()
    return {
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "rows": written.ledger_rows,
        "start_mb": before,
        "stages": stages.cpu,
    }


BARE_SQL = """
SELECT i.id, i.batch_id, i.paid_on, i.updated_at, i.policy_id, i.uscc, i.payee_name,
       e.district, e.industry, i.bank_code, i.account, i.amount, i."offset", i.net, i.state,
       i.bank_reference
FROM payout_item i LEFT JOIN enterprise e ON e.uscc = i.uscc
ORDER BY i.id
"""
HEADER = [
    "Date", "Batch", "Item", "Policy", "USCC", "Payee", "District", "Industry", "Bank",
    "Account", "Amount", "Offset", "Net", "State", "Bank reference",
]  # fmt: skip


def measure_bare(database: Path, out: Path) -> dict[str, Any]:
    import sqlite3

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    before = _rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    connection = sqlite3.connect(database)
    book = Workbook(write_only=True)
    ws = book.create_sheet("Ledger")
    ws.freeze_panes = "A2"
    ws.append(HEADER)
    hundred = Decimal(100)
    rows = 0
    cursor = connection.execute(BARE_SQL)
    while chunk := cursor.fetchmany(10_000):
        for (
            item, batch, paid_on, updated_at, policy, uscc, payee, district, industry, bank,
            account, amount, offset, net, state, reference,
        ) in chunk:  # fmt: skip
            day = WriteOnlyCell(ws, dt.date.fromisoformat(paid_on or updated_at[:10]))  # type: ignore[arg-type]
            day.number_format = "yyyy-mm-dd"
            money = []
            for fen in (amount, offset, net):
                cell = WriteOnlyCell(ws, Decimal(fen) / hundred)  # type: ignore[arg-type]
                cell.number_format = "#,##0.00"
                money.append(cell)
            masked = "*" * (len(account) - 4) + account[-4:]
            ws.append(
                [day, f"QQ-B{batch:08d}", f"QQ-P{item:010d}", policy, uscc, payee, district,
                 industry, bank, masked, *money, state, reference]
            )  # fmt: skip
            rows += 1
    book.save(out)
    connection.close()
    return {
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "rows": rows,
        "start_mb": before,
    }


def _child(kind: str, database: Path, out: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.report", "--measure", kind]
    command += ["--database", str(database), "--out", str(out)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _same_cells(export: Path, bare: Path) -> None:
    """The first 2,000 ledger rows and the last one hold the same values in both files (the
    last row read from the end of the sheet's XML: openpyxl would parse a million rows)."""
    import openpyxl

    def sample(path: Path) -> tuple[list[Any], list[tuple[str, str]]]:
        book = openpyxl.load_workbook(path, read_only=True)
        ws = book["Ledger"]
        first = list(ws.iter_rows(min_row=1, max_row=2001, values_only=True))
        member = cast(Any, ws)._worksheet_path
        book.close()
        tail = b""
        with zipfile.ZipFile(path) as archive, archive.open(member) as xml:
            while block := xml.read(1 << 20):
                tail = (tail + block)[-(1 << 16) :]
        last_row = tail.decode("utf-8", "replace").rsplit("<row ", 1)[1]
        cells = re.findall(
            r'<c r="([A-Z]+)\d+"[^>]*>(?:<v>([^<]*)</v>|<is><t[^>]*>([^<]*)</t>)', last_row
        )
        return first, [(column, number or text) for column, number, text in cells]

    mine, theirs = sample(export), sample(bare)
    if mine != theirs:
        raise SystemExit("the export's ledger and the bare loop's differ")
    if not mine[1] or mine[1][0][0] != "A":
        raise SystemExit(f"no last row found: {mine[1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--firms", type=int, default=20_000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--repeat", type=int, default=2, help="Runs of each, alternating.")
    parser.add_argument("--measure", choices=["export", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure = measure_export if args.measure == "export" else measure_bare
        result = measure(args.database, args.out)
        result["peak_mb"] = _peak_mb()
        print(json.dumps(result))
        return
    folder = DATA / f"report-{args.rows}"
    if args.rebuild and (folder / "qinqing.db").exists():
        (folder / "qinqing.db").unlink()
    database = build(folder, args.rows, args.firms)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.repeat):
            export_file, bare_file = Path(tmp) / "export.xlsx", Path(tmp) / "bare.xlsx"
            bare = _child("bare", database, bare_file)
            export = _child("export", database, export_file)
            if n == 0:
                _same_cells(export_file, bare_file)
                sizes = (export_file.stat().st_size / 2**20, bare_file.stat().st_size / 2**20)
            runs.append((export, bare))
            _print_run(n + 1, export, bare, sizes)
    if len(runs) > 1:
        print(
            f"over {len(runs)} runs: export {sum(e['seconds'] for e, _ in runs):.1f} s, "
            f"bare {sum(b['seconds'] for _, b in runs):.1f} s, ratio "
            f"{sum(b['seconds'] for _, b in runs) / sum(e['seconds'] for e, _ in runs):.2f}x by "
            f"the clock, {sum(b['cpu'] for _, b in runs) / sum(e['cpu'] for e, _ in runs):.2f}x "
            "by CPU time"
        )


def _print_run(
    n: int, export: dict[str, Any], bare: dict[str, Any], sizes: tuple[float, float]
) -> None:
    ratio = bare["seconds"] / export["seconds"]
    cpu_ratio = bare["cpu"] / export["cpu"]
    print(f"run {n}: ledger rows: export {export['rows']:,}, bare {bare['rows']:,} (same cells)")
    print(
        f"{'':8} {'seconds':>8} {'CPU s':>8} {'rows/s':>8} {'peak MB':>8} {'at start MB':>12} "
        f"{'file MB':>8}"
    )
    for name, result, size in (("export", export, sizes[0]), ("bare", bare, sizes[1])):
        print(
            f"{name:8} {result['seconds']:8.1f} {result['cpu']:8.1f} "
            f"{result['rows'] / result['seconds']:8,.0f} {result['peak_mb']:8.0f} "
            f"{result['start_mb']:12.0f} {size:8.1f}"
        )
    print(
        "export CPU s by stage: " + ", ".join(f"{k} {v:.1f}" for k, v in export["stages"].items())
    )
    print(
        f"speed of the export relative to the bare loop: {ratio:.2f}x by the clock, "
        f"{cpu_ratio:.2f}x by CPU time (target >= 0.9x)"
    )
    print(f"peak memory of the export: {export['peak_mb']:.0f} MB (target < 300 MB)", flush=True)


if __name__ == "__main__":
    main()
