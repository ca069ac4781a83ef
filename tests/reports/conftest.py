"""Report fixtures: a database with payouts in every state, and with policies matched."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlmodel import col

from matching import service as matching_service
from policies import service as policy_service
from policies.document import load_path
from subsidy import db
from subsidy.redemption.models import Redemption, RedemptionStatus
from tests.reports.helpers import Payouts, build_payouts
from tests.snapshots import Snapshots

EXAMPLE = Path(__file__).parents[2] / "policies" / "examples" / "hz-2020-ui-refund.yaml"


@pytest.fixture
def payouts(engine: Engine, data_dir: Path, tmp_path: Path, worlds: Snapshots) -> Payouts:
    return worlds.once("reports", lambda: build_payouts(engine, data_dir, tmp_path / "registry"))


@pytest.fixture
def matched(engine: Engine, data_dir: Path, payouts: Payouts) -> Payouts:
    """The fixture's policies and the UI refund (which errs on a firm without a premium) matched;
    some redemptions paid, one reversed."""
    approved = policy_service.approve(
        load_path(EXAMPLE), "ui.yaml", [matching_service.compile_issues]
    )
    with db.session_scope(engine) as session:
        policy_service.publish(session, approved, by="officer")
    with db.session_scope(engine) as session:
        matching_service.run_match(session, data_dir, as_of=dt.date(2020, 6, 30))
        ids = list(
            session.execute(
                select(col(Redemption.id)).where(col(Redemption.policy_id) == "rep-a")
            ).scalars()
        )
        session.execute(
            update(Redemption)
            .where(col(Redemption.id).in_(ids[:12]))
            .values(status=RedemptionStatus.PAID.value)
        )
        session.execute(
            update(Redemption)
            .where(col(Redemption.id) == ids[-1])
            .values(status=RedemptionStatus.REVERSED.value)
        )
    return payouts
