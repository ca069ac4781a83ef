"""A small world of real redemptions for the finance tests (see `payments.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.payouts.payments import World, make_world


@pytest.fixture
def world(engine: Engine, data_dir: Path, tmp_path: Path) -> World:
    return make_world(engine, data_dir, tmp_path / "registry")
