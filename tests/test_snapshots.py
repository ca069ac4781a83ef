"""The kept worlds (`tests.snapshots`): built once, and each later test gets a copy of its own
that nothing of another test's reaches."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from subsidy.settings import get_settings
from tests.conftest import worlds_for


@dataclass(frozen=True)
class Probe:
    engine: Engine
    rows: tuple[int, ...]


def _builder(engine: Engine, folder: Path, builds: list[Path]) -> Callable[[], Probe]:
    def build() -> Probe:
        builds.append(folder)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE probe (n integer)"))
            connection.execute(text("INSERT INTO probe (n) VALUES (1)"))
        (folder / "data").mkdir(exist_ok=True)
        (folder / "data" / "built.txt").write_text("built")
        return Probe(engine, (1,))

    return build


def _another_test(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`folder` as the tmp_path of another test: its own audit checkpoints there."""
    folder.mkdir()
    monkeypatch.setenv("QINQING_AUDIT_CHECKPOINT_DIR", str(folder / "audit-checkpoints"))
    get_settings.cache_clear()
    return folder


def _rows(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT n FROM probe ORDER BY n")).scalars())


def _write(engine: Engine, n: int) -> None:
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO probe (n) VALUES (:n)"), {"n": n})


def _built_in_this_test(
    engine: Engine, tmp_path: Path, request: pytest.FixtureRequest
) -> tuple[str, list[Path], Probe]:
    """A new world's name, the folders it was built in (this test's), and the world."""
    name, builds = f"probe-{secrets.token_hex(4)}", list[Path]()
    world = worlds_for(engine, tmp_path, request).once(name, _builder(engine, tmp_path, builds))
    return name, builds, world


def test_a_world_is_built_once_and_every_later_test_gets_a_copy_of_its_own(
    engine: Engine,
    another_engine: Engine,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name, builds, first = _built_in_this_test(engine, tmp_path, request)
    assert first.engine is engine
    _write(engine, 2)  # the building test goes on after its world was kept
    (tmp_path / "data" / "later.txt").write_text("after the world")

    second_folder = _another_test(tmp_path / "second", monkeypatch)
    second = worlds_for(another_engine, second_folder, request).once(
        name, _builder(another_engine, second_folder, builds)
    )
    assert builds == [tmp_path]
    assert second == Probe(another_engine, (1,))
    assert _rows(another_engine) == [1]
    assert (second_folder / "data" / "built.txt").read_text() == "built"
    assert not (second_folder / "data" / "later.txt").exists()
    assert not list(second_folder.glob("*.db*")), "the test's SQLite files are not copied"

    _write(another_engine, 3)  # nor does a later test's write reach the kept world
    third_folder = _another_test(tmp_path / "third", monkeypatch)
    third = worlds_for(engine, third_folder, request).once(
        name, _builder(engine, third_folder, builds)
    )
    assert builds == [tmp_path]
    assert third.engine is engine
    assert _rows(engine) == [1]
    get_settings.cache_clear()


def test_other_settings_build_a_world_of_their_own(
    engine: Engine,
    another_engine: Engine,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name, builds, _ = _built_in_this_test(engine, tmp_path, request)
    monkeypatch.setenv("QINQING_TODAY", "2021-01-04")
    get_settings.cache_clear()
    other = _another_test(tmp_path / "other", monkeypatch)
    worlds_for(another_engine, other, request).once(name, _builder(another_engine, other, builds))
    assert builds == [tmp_path, other]
    get_settings.cache_clear()


def test_a_world_holding_a_path_of_the_test_that_built_it_is_refused(
    engine: Engine, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    worlds = worlds_for(engine, tmp_path, request)
    with pytest.raises(AssertionError, match="may not hold paths of the test"):
        worlds.once(f"probe-{secrets.token_hex(4)}", lambda: [tmp_path / "registry"])
