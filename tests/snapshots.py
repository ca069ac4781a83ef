"""Worlds built once per worker and handed to each later test as a copy of its own.

Several fixtures build the same world for every test that asks: a registry imported, policies
published and matched, redemptions made (the portal's 200 firms, the payout run's 300, the
reports' payouts in every state). Built again per test they were about a seventh of the suite's
time (issue 17). `Snapshots.once(name, build)` builds the world the first time a worker asks for
it, in that test's own database and folder, and keeps a copy; every later test gets the copy put
into *its* database and folder before it starts. Commits stay real: a test writes to its own copy
and nothing it does reaches the kept one.

What is copied:
- the database: SQLite through its backup API (a consistent copy whatever connections are open);
  PostgreSQL as a database of the run cloned from the test's (`CREATE DATABASE ... TEMPLATE`) and
  cloned back into the next test's;
- the test's whole `tmp_path` but its SQLite files: its data directory (parquet snapshots,
  notifications), audit checkpoints and the registry files the world wrote.

The key is the world's name and every setting except the test's own places (its database and the
paths under its `tmp_path`, which the copy carries over): a test that builds under other settings
(another business date, another audit key) gets a world of its own. A world's result must hold no
path of the test that built it; an `Engine` field is given the current test's engine.
"""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from pydantic import SecretStr
from sqlalchemy import Engine

from subsidy import db
from subsidy.settings import get_settings

T = TypeVar("T")

SQLITE_SUFFIXES = (".db", ".db-wal", ".db-shm", ".db-journal")


class DatabaseCopies(Protocol):
    """How one kind of database is kept and put back."""

    def keep(self, engine: Engine, name: str) -> str:
        """Keep the database of `engine` as it is now; where it is kept."""
        ...

    def put_back(self, kept: str, engine: Engine) -> None:
        """Make the database of `engine` what was kept at `kept`."""
        ...


class SqliteCopies:
    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def keep(self, engine: Engine, name: str) -> str:
        target = self._folder / f"{name}.db"
        _backup(_sqlite_file(engine), target)
        return str(target)

    def put_back(self, kept: str, engine: Engine) -> None:
        _backup(Path(kept), _sqlite_file(engine))


def _sqlite_file(engine: Engine) -> Path:
    assert engine.url.database, "a world is kept from a database file, not from memory"
    return Path(engine.url.database)


def _backup(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as reading, sqlite3.connect(target) as writing:
        reading.backup(writing)
    reading.close()
    writing.close()


@dataclass
class _Kept:
    database: str
    folder: Path
    engine: Engine
    result: Any


_kept: dict[tuple[Any, ...], _Kept] = {}
"""This worker's worlds, by key."""


class Snapshots:
    """The worlds of one test: `once(name, build)` builds or copies one into this test."""

    def __init__(self, engine: Engine, tmp_path: Path, copies: DatabaseCopies, store: Path) -> None:
        self._engine = engine
        self._tmp_path = tmp_path
        self._copies = copies
        self._store = store

    def once(self, name: str, build: Callable[[], T]) -> T:
        key = (name, *self._shaping())
        kept = _kept.get(key)
        if kept is None:
            result = build()
            _kept[key] = self._keep(f"{name}-{len(_kept)}", result)
            return result
        self._put_back(kept)
        return cast(T, _rebound(kept.result, kept.engine, self._engine))

    def _shaping(self) -> tuple[tuple[str, Any], ...]:
        """Every setting but this test's database and the places under its tmp_path."""
        shaping = []
        for field, value in sorted(get_settings()):
            if field == "database_url" or _names_a_place_under(value, self._tmp_path):
                continue
            shaping.append(
                (field, value.get_secret_value() if isinstance(value, SecretStr) else value)
            )
        return tuple(shaping)

    def _keep(self, name: str, result: Any) -> _Kept:
        _no_paths_of(result, self._tmp_path)
        folder = self._store / name
        shutil.copytree(self._tmp_path, folder, ignore=self._database_files)
        database = self._copies.keep(self._engine, name)
        return _Kept(database, folder, self._engine, result)

    def _put_back(self, kept: _Kept) -> None:
        shutil.copytree(kept.folder, self._tmp_path, dirs_exist_ok=True)
        self._copies.put_back(kept.database, self._engine)

    def _database_files(self, folder: str, names: list[str]) -> list[str]:
        """The test's SQLite files (this database, `another_engine`'s, a simulated bank's) are
        its own: copied through `DatabaseCopies` or not at all."""
        if Path(folder) != self._tmp_path:
            return []
        return [n for n in names if n.endswith(SQLITE_SUFFIXES)]


def _names_a_place_under(value: Any, folder: Path) -> bool:
    """`value` is `folder` or names something in it (a path, or a URL or text holding one)."""
    text, root = str(value), str(folder)
    return text == root or f"{root}/" in text


def _rebound(result: T, built_with: Engine, engine: Engine) -> T:
    if not dataclasses.is_dataclass(result) or isinstance(result, type):
        return result
    changes = {
        field.name: engine
        for field in dataclasses.fields(result)
        if getattr(result, field.name) is built_with
    }
    return dataclasses.replace(result, **changes) if changes else result


def _no_paths_of(result: Any, tmp_path: Path) -> None:
    found = [value for value in _values(result) if _names_a_place_under(value, tmp_path)]
    assert not found, f"a kept world may not hold paths of the test that built it: {found}"


def _values(result: Any) -> Iterator[Any]:
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        for field in dataclasses.fields(result):
            yield from _values(getattr(result, field.name))
    elif isinstance(result, (list, tuple, set, frozenset)):
        for item in result:
            yield from _values(item)
    elif isinstance(result, dict):
        for item in result.values():
            yield from _values(item)
    elif isinstance(result, (str, Path)):
        yield result


def dispose_cached_engine() -> None:
    """The app's engine (`db.get_engine`) closes its connections: a PostgreSQL database is
    cloned or dropped only with nobody on it."""
    if db.get_engine.cache_info().currsize:
        db.get_engine().dispose()
