"""Shared set-up for redemption tests: flat policies in force today, a demo registry."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from policies import service as policy_service
from policies.document import PolicyDocument, load_path
from subsidy import db
from subsidy.redemption import service
from subsidy.redemption.models import PolicyBudget, Redemption
from subsidy.registry import demo
from subsidy.registry import service as registry_service

EXAMPLE = Path(__file__).parents[2] / "policies" / "examples" / "hz-2020-ui-refund.yaml"
TODAY = dt.datetime.now(dt.UTC).date()


def policy(**changes: object) -> PolicyDocument:
    """The UI refund, in force today."""
    in_force = {"valid_to": dt.date(2099, 12, 31)}
    return load_path(EXAMPLE).model_copy(update=in_force | changes)


def flat(policy_id: str, yuan: int, budget: int, group: str | None = None) -> PolicyDocument:
    """A one-click policy: every active firm gets `yuan`; tests adjusted to that."""
    base = policy()
    tests = [
        t.model_copy(update={"expect": t.expect.model_copy(update={"amount": None})})
        for t in base.tests
    ]
    tests = [t for t in tests if t.expect.eligible]
    return base.model_copy(
        update={
            "id": policy_id,
            "eligibility": "status == 'active'",
            "clauses": None,  # the example's labels name its own clauses
            "amount": str(yuan),
            "budget": Decimal(budget),
            "cap": None,
            "group": group,
            "mode": "one-click",
            "tests": tests,
        }
    )


def publish(engine: Engine, document: PolicyDocument) -> None:
    approved = policy_service.approve(document, f"{document.id}.yaml")
    with db.session_scope(engine) as session:
        policy_service.publish(session, approved, by="officer")


def load_registry(engine: Engine, data_dir: Path, folder: Path, firms: int) -> list[str]:
    frames = demo.generate(firms, seed=11)
    paths = demo.write(*frames, folder, "parquet")
    with db.session_scope(engine) as session:
        registry_service.import_registry(session, *paths, data_dir=data_dir)
    active = frames[0].filter(frames[0]["status"] == "active")
    return active["uscc"].to_list()


def redeem(engine: Engine, uscc: str, policy_id: str, key: str) -> service.Redeemed:
    with db.session_scope(engine) as session:
        return service.redeem(session, uscc, policy_id, key, today=TODAY)


def reserved(engine: Engine, policy_id: str) -> Decimal:
    with Session(engine) as session:
        budget = session.get(PolicyBudget, policy_id)
        return budget.reserved if budget else Decimal("0.00")


def redemptions(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(Redemption)).scalar_one())
