"""Automatic grants (免申即享): after a match, without a click, within budget, once per firm and
policy and group, audited, and told to the firm."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from matching import service as matching_service
from policies.document import PolicyDocument
from subsidy import db
from subsidy.audit import service as audit
from subsidy.audit.models import AuditEntry
from subsidy.notifications import service as notifications
from subsidy.notifications.models import Kind, Notification
from subsidy.redemption import automatic
from subsidy.redemption.models import Redemption
from tests.redemption.helpers import TODAY, flat, load_registry, publish, redeem, reserved


def match(engine: Engine, data_dir: Path, as_of: dt.date = TODAY) -> list[str]:
    """A match with the steps `qinqing match` adds, in one transaction."""
    with db.session_scope(engine) as session:
        runs = matching_service.run_match(session, data_dir, as_of=as_of)
        said = automatic.after_match(session, runs, as_of)
        return said + notifications.after_match(session, runs, as_of)


def held(engine: Engine, policy_id: str) -> dict[str, Redemption]:
    with Session(engine) as session:
        rows = session.execute(select(Redemption).where(col(Redemption.policy_id) == policy_id))
        return {r.uscc: r for r in rows.scalars()}


def told(engine: Engine) -> list[tuple[str, str, str]]:
    with Session(engine) as session:
        rows = session.execute(select(Notification).order_by(col(Notification.id))).scalars()
        return [(n.uscc, n.policy_id, str(n.kind)) for n in rows]


@pytest.fixture
def active(engine: Engine, data_dir: Path, tmp_path: Path) -> list[str]:
    return sorted(load_registry(engine, data_dir, tmp_path / "registry", 60))


def automatic_flat(
    policy_id: str, yuan: int, budget: int, group: str | None = None
) -> PolicyDocument:
    return flat(policy_id, yuan, budget, group).model_copy(update={"mode": "automatic"})


def test_every_qualified_firm_is_granted_once_and_told(
    engine: Engine, data_dir: Path, active: list[str]
) -> None:
    publish(engine, automatic_flat("auto-300", 300, 1_000_000))
    said = match(engine, data_dir)
    granted = held(engine, "auto-300")
    assert sorted(granted) == active
    assert {r.amount for r in granted.values()} == {Decimal("300.00")}
    assert {r.idempotency_key for r in granted.values()} == {"automatic:auto-300"}
    assert reserved(engine, "auto-300") == Decimal(300 * len(active))
    assert f"to {len(active):,} firms" in said[0]
    assert sorted(told(engine)) == sorted((u, "auto-300", str(Kind.GRANTED)) for u in active)
    with Session(engine) as session:
        entries = session.execute(
            select(AuditEntry).where(col(AuditEntry.action) == "redemption.grant")
        ).scalars()
        assert sorted(e.subject for e in entries) == sorted(
            f"redemption:{r.id}" for r in granted.values()
        )
        assert audit.verify(session).reason is None

    match(engine, data_dir)  # again: nothing new to grant, nobody told twice
    assert held(engine, "auto-300") == granted
    assert reserved(engine, "auto-300") == Decimal(300 * len(active))
    assert len(told(engine)) == len(active)


def test_the_budget_is_never_exceeded_and_firms_go_in_uscc_order(
    engine: Engine, data_dir: Path, active: list[str]
) -> None:
    publish(engine, automatic_flat("auto-tight", 250, 2_600))
    said = match(engine, data_dir)
    assert sorted(held(engine, "auto-tight")) == active[:10]
    assert reserved(engine, "auto-tight") == Decimal("2500.00")
    assert f"{len(active) - 10:,} more qualify beyond the budget" in said[0]
    qualified_only = {u for u, _, kind in told(engine) if kind == Kind.QUALIFIED}
    assert qualified_only == set(active[10:])  # told they qualify: a click may still land


def test_a_firm_holding_the_policy_or_its_group_gets_no_grant(
    engine: Engine, data_dir: Path, active: list[str]
) -> None:
    publish(engine, flat("click-starter", 100, 1_000_000, group="starter"))
    publish(engine, automatic_flat("auto-starter", 200, 1_000_000, group="starter"))
    redeem(engine, active[0], "click-starter", "key-click-0")
    match(engine, data_dir)
    granted = held(engine, "auto-starter")
    assert active[0] not in granted
    assert sorted(granted) == active[1:]
    assert reserved(engine, "auto-starter") == Decimal(200 * (len(active) - 1))
    # Those granted are not told they may click for the other policy of their group either way;
    # the firm that clicked is not told it qualifies for what it holds.
    assert (active[0], "click-starter", str(Kind.QUALIFIED)) not in told(engine)


def test_outside_its_validity_window_nothing_is_granted(
    engine: Engine, data_dir: Path, active: list[str]
) -> None:
    publish(engine, automatic_flat("auto-later", 100, 1_000_000))
    match(engine, data_dir, as_of=dt.date(2019, 12, 31))  # before valid_from
    assert held(engine, "auto-later") == {}
    assert reserved(engine, "auto-later") == Decimal("0.00")


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)


@given(st.lists(amounts, max_size=40), st.decimals(min_value=0, max_value=10**6, places=2))
def test_within_budget_takes_the_longest_prefix_that_fits(
    values: list[Decimal], remaining: Decimal
) -> None:
    candidates = [(f"firm-{i:03d}", v) for i, v in enumerate(values)]
    chosen = automatic.within_budget(candidates, remaining)
    assert chosen == candidates[: len(chosen)]
    assert sum((a for _, a in chosen), Decimal(0)) <= remaining
    if len(chosen) < len(candidates):
        assert sum((a for _, a in candidates[: len(chosen) + 1]), Decimal(0)) > remaining
