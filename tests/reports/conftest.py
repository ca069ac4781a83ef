"""Report fixtures: a database with payouts in every state."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.reports.helpers import Payouts, build_payouts


@pytest.fixture
def payouts(engine: Engine, data_dir: Path, tmp_path: Path) -> Payouts:
    return build_payouts(engine, data_dir, tmp_path / "registry")
