"""What the benchmarks share: the cached demo registry, fresh databases, a stage clock."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import Engine, text

from subsidy import db
from subsidy.registry import demo

DATA = Path(__file__).parent / "data"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def registry_files(firms: int) -> tuple[Path, Path]:
    """The demo registry of `firms` firms (seed 2020) as Parquet, generated once."""
    folder = DATA / f"firms-{firms}"
    enterprises, employees = folder / "enterprises.parquet", folder / "employees.parquet"
    if not (enterprises.exists() and employees.exists()):
        started = time.perf_counter()
        demo.write(*demo.generate(firms, seed=2020), folder, "parquet")
        print(f"generated {firms:,} firms in {time.perf_counter() - started:.1f} s")
    return enterprises, employees


def fresh_engine(kind: str, postgres_url: str, workdir: Path) -> Engine:
    """A migrated empty database: a SQLite file in `workdir`, or PostgreSQL's public schema
    dropped and rebuilt (point it only at a database you can lose)."""
    if kind == "sqlite":
        engine = db.make_engine(f"sqlite:///{workdir / 'bench.db'}")
    else:
        engine = db.make_engine(postgres_url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    db.upgrade(engine)
    return engine


class StageClock:
    """A `Progress` that records how long each stage of a run took, by its first word."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._stage: str | None = None
        self._started = time.perf_counter()

    def stage(self, name: str, total: int | None = None) -> None:
        self._close()
        self._stage = name.split()[0]  # "reading x.parquet" -> "reading"
        self._started = time.perf_counter()

    def advance(self, units: int) -> None:
        pass

    def _close(self) -> None:
        if self._stage is not None:
            self.seconds[self._stage] = time.perf_counter() - self._started

    def finish(self) -> dict[str, float]:
        self._close()
        return self.seconds
