"""Celery tasks of the payout core. Each takes ids, commits its own transactions and is safe to
run twice (see payouts.service for the three steps of settling a batch)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

from payouts import repository, service
from payouts.gateways import BankGateway, gateway_from_url
from subsidy.db import session_scope, utcnow
from subsidy.jobs import after_commit, celery_app
from subsidy.settings import get_settings


@lru_cache
def gateway(url: str) -> BankGateway:
    return gateway_from_url(url)


def settle_once(batch_id: int) -> service.Applied | None:
    """Claim, ask the bank, apply: one pass over a batch, None when there is nothing to do."""
    settings = get_settings()
    backoff = dt.timedelta(seconds=settings.payout_backoff_seconds)
    with session_scope() as session:
        claim = service.claim(session, batch_id, now=utcnow())
    if claim is None:
        return None
    answers = service.ask_bank(gateway(settings.bank), claim)
    with session_scope() as session:
        return service.apply(session, claim, answers, now=utcnow(), backoff=backoff)


@celery_app.task(
    name="payouts.settle",
    bind=True,
    acks_late=True,
    task_reject_on_worker_lost=True,
    max_retries=None,
)
def settle(self: Any, batch_id: int) -> dict[str, int]:
    """Settle one batch; while items remain open, come back after the backoff."""
    applied = settle_once(batch_id)
    if applied is None:
        return {"paid": 0, "returned": 0, "unsettled": 0}
    if applied.retry_in is not None and not celery_app.conf.task_always_eager:
        # In-process runs loop in `run_until_settled` instead of re-entering here.
        raise self.retry(countdown=applied.retry_in.total_seconds())
    return {"paid": applied.paid, "returned": applied.returned, "unsettled": applied.unsettled}


@celery_app.task(name="payouts.run", acks_late=True, task_reject_on_worker_lost=True)
def run(batch_size: int = service.BATCH_SIZE) -> list[int]:
    """Gather approved redemptions into batches and settle every open batch (new or left over
    by a crash); the settle tasks are enqueued once the gathering has committed."""
    with session_scope() as session:
        gathered = service.gather(session, batch_size=batch_size)
        batch_ids = repository.open_batches(session)
        after_commit(session, lambda: [settle.delay(i) for i in batch_ids])
    return gathered.batch_ids


@celery_app.task(name="payouts.poll", acks_late=True, task_reject_on_worker_lost=True)
def poll() -> list[int]:
    """The beat's sweep: settle every open batch again (lost answers, due retries, file bank
    results, batches whose worker died)."""
    with session_scope() as session:
        batch_ids = repository.open_batches(session)
    for batch_id in batch_ids:
        settle.delay(batch_id)
    return batch_ids
