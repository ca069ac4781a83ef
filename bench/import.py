"""Registry import benchmark (issue 2): rows per second into SQLite and PostgreSQL.

    python -m bench.import [--firms 200000] [--postgres URL] [--skip-sqlite]

Generates the demo registry once (cached under bench/data/), then imports enterprises and employees
from Parquet into a fresh database of each kind and prints the time of each stage and rows/s, as a
Markdown table for bench/README.md. Run by hand; the tests never time anything.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine

from bench._common import DEFAULT_POSTGRES, StageClock, fresh_engine, registry_files
from subsidy import db
from subsidy.registry import service
from subsidy.registry.schema import EMPLOYEES, ENTERPRISES, Table


def import_timed(
    engine: Engine, table: Table, path: Path, data_dir: Path
) -> tuple[int, float, dict[str, float]]:
    """(rows, seconds end to end including commit, seconds per stage)."""
    clock = StageClock()
    started = time.perf_counter()
    with db.session_scope(engine) as session:
        snapshot = service.import_file(session, table, path, data_dir=data_dir, progress=clock)
        stages = clock.finish()
        commit_started = time.perf_counter()
    stages["commit"] = time.perf_counter() - commit_started
    return snapshot.row_count, time.perf_counter() - started, stages


STAGES = ("reading", "checking", "writing", "indexing", "commit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--firms", type=int, default=200_000)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    files = dict(zip((ENTERPRISES.name, EMPLOYEES.name), registry_files(args.firms), strict=True))
    kinds = [
        k
        for k, skip in (("sqlite", args.skip_sqlite), ("postgres", args.skip_postgres))
        if not skip
    ]
    header = " | ".join(f"{stage} s" for stage in STAGES)
    print(f"| database | registry | rows | {header} | end to end s | rows/s |")
    print("| --- | --- | ---: |" + " ---: |" * (len(STAGES) + 2))
    for kind in kinds:
        with tempfile.TemporaryDirectory() as tmp:
            engine = fresh_engine(kind, args.postgres, Path(tmp))
            for table in (ENTERPRISES, EMPLOYEES):
                path = files[table.name]
                rows, total, stages = import_timed(engine, table, path, Path(tmp) / "data")
                cells = " | ".join(f"{stages.get(stage, 0):.2f}" for stage in STAGES)
                speed = f"{total:.2f} | {rows / total:,.0f}"
                print(f"| {kind} | {table.name} | {rows:,} | {cells} | {speed} |")
            engine.dispose()


if __name__ == "__main__":
    main()
