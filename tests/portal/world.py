"""A small world for the portal tests: a 200-firm registry, the thirteen example policies published
and matched as of 2020-06-30 (with the automatic grants), the business date set to that day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from matching import service as matching_service
from matching.models import Qualification
from policies import service as policy_service
from policies.document import load_path
from subsidy import db
from subsidy.redemption import automatic
from subsidy.redemption.models import Redemption
from subsidy.registry import demo
from subsidy.registry import service as registry_service
from subsidy.registry.models import Enterprise

EXAMPLES = Path(__file__).parents[2] / "policies" / "examples"
AS_OF = dt.date(2020, 6, 30)
ONE_CLICK = (
    "hz-2020-new-hire-subsidy",
    "hz-2020-high-tech-award",
    "hz-2020-epidemic-supplies",
    "hz-2020-sme-rent-relief",
)


@dataclass(frozen=True)
class World:
    firm: str
    """A firm with a bank account that qualifies for a one-click policy it has not redeemed."""
    policy_id: str
    other_firm: str


def make_world(engine: Engine, data_dir: Path, folder: Path) -> World:
    paths = demo.write(*demo.generate(200, seed=3), folder, "parquet")
    with db.session_scope(engine) as session:
        registry_service.import_registry(session, *paths, data_dir=data_dir)
        for file in sorted(EXAMPLES.glob("*.yaml")):
            approved = policy_service.approve(
                load_path(file), file.name, [matching_service.compile_issues]
            )
            policy_service.publish(session, approved, by="officer")
    with db.session_scope(engine) as session:
        runs = matching_service.run_match(session, data_dir, as_of=AS_OF)
        automatic.after_match(session, runs, AS_OF)
    with Session(engine) as session:
        redeemed = set(session.execute(select(col(Redemption.uscc))).scalars())
        candidates = session.execute(
            select(col(Qualification.uscc), col(Qualification.policy_id))
            .join(Enterprise, col(Enterprise.uscc) == col(Qualification.uscc))
            .where(col(Enterprise.bank_account).is_not(None))
            .where(col(Qualification.policy_id).in_(ONE_CLICK))
            .order_by(col(Qualification.policy_id), col(Qualification.uscc))
        ).all()
    usable = [(u, p) for u, p in candidates if u not in redeemed] or list(candidates)
    assert len(usable) >= 2, "the demo registry has firms for a one-click policy"
    firm, policy_id = usable[0]
    other = next(u for u, _ in usable if u != firm)
    return World(firm=firm, policy_id=policy_id, other_firm=other)
