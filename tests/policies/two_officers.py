"""Suspend or close a policy the only way there is: one officer requests, another confirms."""

from __future__ import annotations

from sqlmodel import Session

from policies import lifecycle
from policies.models import Policy, PolicyAction, PolicyState

ACTIONS = {PolicyState.SUSPENDED: PolicyAction.SUSPEND, PolicyState.CLOSED: PolicyAction.CLOSE}


def change_state(
    session: Session,
    policy_id: str,
    to: PolicyState,
    *,
    maker: str = "officer:maker",
    checker: str = "officer:checker",
) -> Policy:
    found = lifecycle.request(session, policy_id, ACTIONS[to], reason="for the test", by=maker)
    assert found.id is not None
    return lifecycle.confirm(session, found.id, by=checker)[1]
