"""Registry import benchmark (issues 2 and 15): rows per second into SQLite and PostgreSQL.

    python -m bench.import [--firms 200000] [--postgres URL] [--skip-sqlite] [--skip-sources]

Generates the demo registry once (cached under bench/data/), then imports enterprises and employees
from Parquet into a fresh database of each kind, declares the demo's two sources and imports a tax
file (one row per firm with revenue) and a social-insurance file (one row per employee) through
`import_source`, and prints the time of each stage and rows/s, as a Markdown table for
bench/README.md. Run by hand; the tests never time anything.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import yaml
from sqlalchemy import Engine
from sqlmodel import Session

from bench._common import DATA, DEFAULT_POSTGRES, StageClock, fresh_engine, registry_files
from subsidy import db
from subsidy.progress import Progress
from subsidy.registry import demo_sources, service
from subsidy.registry.catalog import canonical_json
from subsidy.registry.models import RegistryDeclaration, RegistrySnapshot
from subsidy.registry.schema import EMPLOYEES, ENTERPRISES, Table

Importer = Callable[[Session, Path, Path, Progress], RegistrySnapshot]


def import_timed(
    engine: Engine, table: Table, path: Path, data_dir: Path
) -> tuple[int, float, dict[str, float]]:
    """(rows, seconds end to end including commit, seconds per stage)."""

    def run(session: Session, file: Path, folder: Path, progress: Progress) -> RegistrySnapshot:
        return service.import_file(session, table, file, data_dir=folder, progress=progress)

    return timed(engine, run, path, data_dir)


def source_timed(
    engine: Engine, name: str, path: Path, data_dir: Path
) -> tuple[int, float, dict[str, float]]:
    def run(session: Session, file: Path, folder: Path, progress: Progress) -> RegistrySnapshot:
        return service.import_source(session, name, file, data_dir=folder, progress=progress)

    return timed(engine, run, path, data_dir)


def timed(
    engine: Engine, run: Importer, path: Path, data_dir: Path
) -> tuple[int, float, dict[str, float]]:
    clock = StageClock()
    started = time.perf_counter()
    with db.session_scope(engine) as session:
        snapshot = run(session, path, data_dir, clock)
        stages = clock.finish()
        commit_started = time.perf_counter()
    stages["commit"] = time.perf_counter() - commit_started
    return snapshot.row_count, time.perf_counter() - started, stages


def source_files(firms: int, registry: tuple[Path, Path]) -> dict[str, Path]:
    """The demo tax source (a row per firm with revenue) and a social-insurance source with a
    row for every employee (the demo's own skips those not employed in 2019), cached."""
    folder = DATA / f"firms-{firms}"
    files = {
        demo_sources.TAX: folder / "tax.parquet",
        demo_sources.SOCIAL_INSURANCE: folder / "social-insurance.parquet",
    }
    if all(p.exists() for p in files.values()):
        return files
    enterprises, employees = (pl.read_parquet(p) for p in registry)
    tax = demo_sources.generate(enterprises, employees.head(0))[demo_sources.TAX]
    tax.write_parquet(files[demo_sources.TAX])
    months = np.random.default_rng(15).integers(0, 13, employees.height)
    insured = employees.select("person_id", pl.Series("months_insured_2019", months, pl.Int64))
    insured.write_parquet(files[demo_sources.SOCIAL_INSURANCE])
    return files


def declare_demo_sources(engine: Engine) -> None:
    """The demo's declaration in force, as `qinqing registry declare` stores it."""
    document = demo_sources.DECLARATION.read_text(encoding="utf-8")
    sources = yaml.safe_load(document)["sources"]
    content = {
        "sources": [
            {
                "name": s["name"],
                "department": s["department"],
                "key": s["key"],
                "description": s.get("description"),
                "columns": [
                    {
                        "name": name,
                        "type": c["type"],
                        "nullable": c["nullable"],
                        "scale": c.get("scale"),
                        "max_length": c.get("max_length"),
                        "label": c["label"],
                        "description": c.get("description"),
                    }
                    for name, c in s["columns"].items()
                ],
            }
            for s in sources
        ]
    }
    with db.session_scope(engine) as session:
        session.add(
            RegistryDeclaration(
                version=1,
                document=document,
                content=canonical_json(content),
                content_hash="0" * 64,
                declared_by="bench:import",
            )
        )


STAGES = ("reading", "checking", "writing", "indexing", "commit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--firms", type=int, default=200_000)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sources", action="store_true")
    args = parser.parse_args()
    registry = registry_files(args.firms)
    files = dict(zip((ENTERPRISES.name, EMPLOYEES.name), registry, strict=True))
    sources = {} if args.skip_sources else source_files(args.firms, registry)
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
            if sources:
                declare_demo_sources(engine)
            for name, path in sources.items():
                rows, total, stages = source_timed(engine, name, path, Path(tmp) / "data")
                cells = " | ".join(f"{stages.get(stage, 0):.2f}" for stage in STAGES)
                speed = f"{total:.2f} | {rows / total:,.0f}"
                print(f"| {kind} | source {name} | {rows:,} | {cells} | {speed} |")
            engine.dispose()


if __name__ == "__main__":
    main()
