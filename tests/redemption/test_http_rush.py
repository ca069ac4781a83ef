"""Real parallel requests against a running `qinqing serve` on PostgreSQL (two worker processes):
a budget for 100 firms and 1,000 qualified firms trying at once; one firm trying 50 times at once
with different keys."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from subsidy.audit import service as audit
from tests.redemption.helpers import flat, load_registry, publish, redemptions, reserved
from tests.serving import post_redemptions, serving


@pytest.fixture
def server(pg_engine: Engine, data_dir: Path) -> Iterator[str]:
    # One firm trying 50 times at once is the point of the test, not a client to slow down.
    with serving(pg_engine, data_dir, workers=2, rate_limit_redeem="off") as base:
        yield base


def _post_all(base: str, attempts: list[tuple[str, str, str]]) -> Counter[int]:
    return Counter(answer.status for answer in post_redemptions(base, attempts))


@pytest.mark.postgres
def test_a_rush_over_http_never_overspends_nor_redeems_twice(
    pg_engine: Engine, data_dir: Path, tmp_path: Path, server: str
) -> None:
    firms = load_registry(pg_engine, data_dir, tmp_path / "registry", 1_100)[:1_000]
    publish(pg_engine, flat("rush", 1_000, 100_000))
    statuses = _post_all(server, [(u, "rush", f"key-{u}") for u in firms])
    assert statuses == Counter({201: 100, 409: 900})
    assert redemptions(pg_engine) == 100
    assert reserved(pg_engine, "rush") == Decimal("100000.00")

    publish(pg_engine, flat("once", 10, 1_000_000))
    statuses = _post_all(server, [(firms[0], "once", f"key-{i:04d}-once") for i in range(50)])
    assert statuses == Counter({201: 1, 409: 49})
    assert redemptions(pg_engine) == 101
    assert reserved(pg_engine, "once") == Decimal("10.00")
    with Session(pg_engine) as session:
        assert audit.verify(session).reason is None
