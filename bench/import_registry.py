"""Registry import benchmark (issue 2): rows per second into SQLite and PostgreSQL.

    python -m bench.import_registry [--firms 200000] [--postgres URL] [--skip-sqlite]

Generates the demo registry once (cached under bench/data/), then imports enterprises and employees
from Parquet into a fresh database of each kind and prints the time of each stage and rows/s, as a
Markdown table for bench/README.md. Run by hand; the tests never time anything.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from subsidy import db
from subsidy.registry import demo, repository, service
from subsidy.registry.reader import read_source
from subsidy.registry.schema import EMPLOYEES, ENTERPRISES, Table
from subsidy.registry.validation import validate

DATA = Path(__file__).parent / "data"


def registry_files(firms: int) -> tuple[Path, Path]:
    folder = DATA / f"firms-{firms}"
    enterprises, employees = folder / "enterprises.parquet", folder / "employees.parquet"
    if not (enterprises.exists() and employees.exists()):
        started = time.perf_counter()
        frames = demo.generate(firms, seed=2020)
        demo.write(*frames, folder, "parquet")
        print(f"generated {firms:,} firms in {time.perf_counter() - started:.1f} s")
    return enterprises, employees


def fresh_engine(kind: str, postgres_url: str, workdir: Path) -> Engine:
    if kind == "sqlite":
        engine = db.make_engine(f"sqlite:///{workdir / 'bench.db'}")
    else:
        engine = db.make_engine(postgres_url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    db.upgrade(engine)
    return engine


@contextmanager
def timed(into: dict[str, float], stage: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    into[stage] = time.perf_counter() - started


def import_stages(
    engine: Engine, table: Table, path: Path, data_dir: Path
) -> tuple[int, dict[str, float]]:
    """Time reading and validating alone, then the whole import; writing is the difference."""
    stages: dict[str, float] = {}
    with db.session_scope(engine) as session:
        with timed(stages, "read"):
            raw = read_source(path)
        with timed(stages, "validate"):
            known = repository.enterprise_usccs(session) if table is EMPLOYEES else None
            rows = validate(raw, table, path.name, known_usccs=known).height
    with timed(stages, "total"), db.session_scope(engine) as session:
        service.import_file(session, table, path, data_dir=data_dir)
    stages["write"] = stages["total"] - stages["read"] - stages["validate"]
    return rows, stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--firms", type=int, default=200_000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    files = dict(zip((ENTERPRISES.name, EMPLOYEES.name), registry_files(args.firms), strict=True))
    kinds = [
        k
        for k, skip in (("sqlite", args.skip_sqlite), ("postgres", args.skip_postgres))
        if not skip
    ]
    print(
        "| database | registry | rows | read s | validate s | hash + Parquet + write s"
        " | end to end s | rows/s |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for kind in kinds:
        with tempfile.TemporaryDirectory() as tmp:
            engine = fresh_engine(kind, args.postgres, Path(tmp))
            for table in (ENTERPRISES, EMPLOYEES):
                rows, s = import_stages(engine, table, files[table.name], Path(tmp) / "data")
                total = s["total"]
                print(
                    f"| {kind} | {table.name} | {rows:,} | {s['read']:.2f} | {s['validate']:.2f}"
                    f" | {s['write']:.2f} | {total:.2f} | {rows / total:,.0f} |"
                )
            engine.dispose()


if __name__ == "__main__":
    main()
