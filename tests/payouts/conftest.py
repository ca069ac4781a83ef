"""A small world of real redemptions for the finance tests (see `payments.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.payouts.payments import World, make_world
from tests.snapshots import Snapshots


@pytest.fixture
def world(engine: Engine, data_dir: Path, tmp_path: Path, worlds: Snapshots) -> World:
    return worlds.once("payments", lambda: make_world(engine, data_dir, tmp_path / "registry"))
