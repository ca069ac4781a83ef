"""Payout runs a finance user asks for (portal or API): the row that says how far one got.

A run is queued by the request (`launch.start`), then `tasks.run_recorded` gathers every
approved redemption into batches carrying the run's id and has them paid. The run's own row
records the gathering (queued -> gathering -> gathered | failed); its payments are its batches'
items, counted by state whenever the progress is read, so the figures are the payout core's own
and never a copy that could disagree. Flush only: the request or the task commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlmodel import Session, col

from payouts.errors import PayoutNotFound, RunInProgress
from payouts.models import BatchState, PayoutBatch, PayoutItem, PayoutRun, RunState
from payouts.service import Gathered
from subsidy.audit import service as audit
from subsidy.db import utcnow

START = "payout.run"
ACTIVE = (RunState.QUEUED, RunState.GATHERING)


def create(session: Session, *, by: str, batch_size: int) -> PayoutRun:
    """A queued run (audited); refused while another is queued or gathering."""
    busy = session.execute(
        select(col(PayoutRun.id)).where(col(PayoutRun.state).in_(ACTIVE)).limit(1)
    ).scalar()
    if busy is not None:
        raise RunInProgress(run_id=busy)
    run = PayoutRun(state=RunState.QUEUED, batch_size=batch_size, requested_by=by)
    session.add(run)
    session.flush()
    audit.record(
        session,
        actor=by,
        action=START,
        subject=f"payout_run:{run.id}",
        after={"batch_size": batch_size},
    )
    return run


def begin(session: Session, run_id: int) -> PayoutRun | None:
    """queued -> gathering; None when the run is unknown or already past it (a task delivered
    again after it gathered does nothing; one found gathering gathers what is left)."""
    run = _locked(session, run_id)
    if run is None or run.state not in ACTIVE:
        return None
    run.state, run.started_at = RunState.GATHERING, run.started_at or utcnow()
    session.flush()
    return run


def gathered(session: Session, run_id: int, done: Gathered) -> None:
    run = _locked(session, run_id)
    assert run is not None
    run.state, run.gathered_at = RunState.GATHERED, utcnow()
    run.items += done.items
    run.total += done.total
    run.without_account = len(done.without_account)
    session.flush()


def fail(session: Session, run_id: int, error: str) -> None:
    run = _locked(session, run_id)
    if run is not None:
        run.state, run.error = RunState.FAILED, error
        session.flush()


def _locked(session: Session, run_id: int) -> PayoutRun | None:
    query = (
        select(PayoutRun)
        .where(col(PayoutRun.id) == run_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    found: PayoutRun | None = session.execute(query).scalars().first()
    return found


# --- reading a run ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StateCount:
    items: int
    net: Decimal


@dataclass(frozen=True)
class Progress:
    run: PayoutRun
    batches: int
    open_batches: int
    by_state: dict[str, StateCount]
    """The run's items and their net amount per item state."""

    @property
    def finished(self) -> bool:
        """Gathered and every batch settled (paid or returned), or failed."""
        return self.run.state == RunState.FAILED or (
            self.run.state == RunState.GATHERED and self.open_batches == 0
        )

    @property
    def phase(self) -> str:
        """What a reader is told: queued, gathering, paying, finished or failed."""
        if self.run.state == RunState.GATHERED:
            return "finished" if self.open_batches == 0 else "paying"
        return str(self.run.state)

    def count(self, state: str) -> int:
        found = self.by_state.get(state)
        return found.items if found else 0


def progress(session: Session, run_id: int) -> Progress:
    run = session.get(PayoutRun, run_id)
    if run is None:
        raise PayoutNotFound(code="payout.not_found.run", run_id=run_id)
    session.refresh(run)
    in_run = col(PayoutBatch.run_id) == run_id
    batches = session.execute(
        select(func.count(), func.count().filter(col(PayoutBatch.state) == BatchState.OPEN)).where(
            in_run
        )
    ).one()
    query = (
        select(col(PayoutItem.state), func.count(), func.sum(col(PayoutItem.net)))
        .join(PayoutBatch, col(PayoutBatch.id) == col(PayoutItem.batch_id))
        .where(in_run)
        .group_by(col(PayoutItem.state))
    )
    by_state = {
        str(state): StateCount(int(count), Decimal(net))
        for state, count, net in session.execute(query)
    }
    return Progress(run, int(batches[0]), int(batches[1]), dict(sorted(by_state.items())))


def runs(session: Session, *, offset: int, limit: int) -> tuple[list[PayoutRun], int]:
    """Newest first, a page of them, and how many there are."""
    total = session.execute(select(func.count()).select_from(PayoutRun)).scalar_one()
    query = select(PayoutRun).order_by(col(PayoutRun.id).desc()).offset(offset).limit(limit)
    return list(session.execute(query).scalars()), int(total)
