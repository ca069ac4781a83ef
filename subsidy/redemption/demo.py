"""The demo's one-click redemptions: some firms click "redeem" on what they qualify for."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from matching.models import Qualification
from policies import repository as policy_repository
from policies.service import published_document


def candidates(session: Session, firms: int) -> list[tuple[str, list[str]]]:
    """The first `firms` firms (USCC order) with a one-click qualification, each with the
    one-click policies it qualifies for (a firm redeems the first that it still can)."""
    one_click = _one_click_policies(session)
    rows = session.execute(
        select(col(Qualification.uscc), col(Qualification.policy_id))
        .where(col(Qualification.policy_id).in_(one_click))
        .order_by(col(Qualification.uscc), col(Qualification.policy_id))
    ).all()
    by_firm: dict[str, list[str]] = {}
    for uscc, policy_id in rows:
        by_firm.setdefault(str(uscc), []).append(str(policy_id))
    return list(by_firm.items())[:firms]


def _one_click_policies(session: Session) -> list[str]:
    found = []
    for policy in policy_repository.list_all(session):
        if policy.latest_version == 0:
            continue
        version = policy_repository.version(session, policy.id, policy.latest_version)
        if version is not None and published_document(version).mode == "one-click":
            found.append(policy.id)
    return found
