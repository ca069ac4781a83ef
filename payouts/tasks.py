"""Celery tasks of the payout core. Each takes ids, commits its own transactions and is safe to
run twice (see payouts.service for the three steps of settling a batch)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from payouts import repository, runs, service
from payouts.gateways import BankGateway, TransientBankError, gateway_from_url
from subsidy.db import session_scope, utcnow
from subsidy.jobs import celery_app
from subsidy.localtime import local_date
from subsidy.settings import get_settings

log = logging.getLogger(__name__)

QUERY_ATTEMPTS = 8


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


def collect_returns_once(days: int | None = None) -> int:
    """Ask the bank about the payments of the last `days` days (QINQING_PAYOUT_RETURN_WINDOW_DAYS)
    and record those that came back."""
    days = days or get_settings().payout_return_window_days
    gateway_now = gateway(get_settings().bank)
    with session_scope() as session:
        since = local_date(utcnow()) - dt.timedelta(days=days)  # value dates are local days
        keys = service.paid_keys_since(session, since)
    returned = 0
    backoff = get_settings().payout_backoff_seconds
    per_query = get_settings().bank_query_chunk
    for start in range(0, len(keys), per_query):
        chunk = keys[start : start + per_query]
        for attempt in range(QUERY_ATTEMPTS):
            try:
                results = gateway_now.query(chunk)
                break
            except TransientBankError:
                if attempt == QUERY_ATTEMPTS - 1:
                    raise
                time.sleep(backoff * 2**attempt)  # a query changes nothing: safe to repeat
        with session_scope() as session:
            returned += service.apply_returns(session, results, now=utcnow())
    return returned


@celery_app.task(
    name="payouts.returns",
    acks_late=True,
    task_reject_on_worker_lost=True,
    autoretry_for=(TransientBankError,),
    retry_backoff=True,
)
def collect_returns(days: int | None = None) -> int:
    return collect_returns_once(days)


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


def gather_in_chunks(
    batch_size: int | None = None,
    chunk: int | None = None,
    gathered_batches: Callable[[list[int]], None] = lambda batch_ids: None,
    run_id: int | None = None,
) -> service.Gathered:
    """Gather every approved redemption, `chunk` per committed transaction, calling
    `gathered_batches` with each chunk's batch ids once it has committed (so their settling can
    start while the next chunk is gathered). A later chunk sees the earlier chunks' offsets as
    unpaid items, so a debt is withheld once across chunks as across runs. The sizes default to
    QINQING_PAYOUT_BATCH_SIZE and QINQING_PAYOUT_GATHER_CHUNK."""
    chunk = chunk or get_settings().payout_gather_chunk
    total, after = service.NOTHING_GATHERED, 0
    while True:
        with session_scope() as session:
            gathered = service.gather(
                session, batch_size=batch_size, after=after, limit=chunk, run_id=run_id
            )
        if gathered.batch_ids:
            gathered_batches(gathered.batch_ids)
        total = total.plus(gathered)
        if gathered.resume_after is None:
            return total
        after = gathered.resume_after


def settle_all(batch_ids: list[int]) -> None:
    for batch_id in batch_ids:
        settle.delay(batch_id)


def beat_schedule(sweep_seconds: float) -> dict[str, dict[str, object]]:
    """What the beat sends every `sweep_seconds` (QINQING_PAYOUT_SWEEP_SECONDS): a payout run
    and a sweep of the open batches. The assembly (`subsidy/workers.py`) gathers it."""
    return {
        "payouts-run": {"task": "payouts.run", "schedule": sweep_seconds},
        "payouts-poll": {"task": "payouts.poll", "schedule": sweep_seconds},
    }


@celery_app.task(name="payouts.run", acks_late=True, task_reject_on_worker_lost=True)
def run(batch_size: int | None = None) -> list[int]:
    """Settle the batches left open (by a crash, a backoff), then gather approved redemptions
    into batches, each chunk's batches sent to be settled as soon as it has committed."""
    with session_scope() as session:
        left_open = repository.open_batches(session)
    settle_all(left_open)
    return gather_in_chunks(batch_size, gathered_batches=settle_all).batch_ids


@celery_app.task(name="payouts.poll", acks_late=True, task_reject_on_worker_lost=True)
def poll() -> list[int]:
    """The beat's sweep: settle every open batch again (lost answers, due retries, file bank
    results, batches whose worker died)."""
    with session_scope() as session:
        batch_ids = repository.open_batches(session)
    settle_all(batch_ids)
    collect_returns.delay()
    return batch_ids


def settle_here(batch_ids: list[int], wait: float) -> list[int]:
    """Without a broker: settle the batches in this process, each again after its backoff,
    until every one is settled or `wait` seconds have passed; the batches still open."""
    deadline = time.monotonic() + wait
    pending = list(batch_ids)
    while pending:
        retry_in = []
        for batch_id in list(pending):
            applied = settle_once(batch_id)
            if applied is None or applied.retry_in is None:
                pending.remove(batch_id)
            else:
                retry_in.append(applied.retry_in.total_seconds())
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(min([*retry_in, max(0.0, deadline - time.monotonic())]))
    return pending


IN_PROCESS_WAIT = 600.0
"""How long a run without a broker keeps settling its batches (the beat's sweep, or the next
run, settles what is left)."""


@celery_app.task(name="payouts.run_recorded", acks_late=True, task_reject_on_worker_lost=True)
def run_recorded(run_id: int) -> None:
    """Run `run_id` as a finance user asked for it (`payouts.launch`): what `qinqing payouts
    run` does, its batches tagged with the run. With a broker each chunk's batches go to the
    workers as soon as they are committed; without one they are settled here."""
    with session_scope() as session:
        run = runs.begin(session, run_id)
        if run is None:
            return
        batch_size = run.batch_size
    eager = celery_app.conf.task_always_eager
    try:
        if not eager:
            with session_scope() as session:
                settle_all(repository.open_batches(session))
        done = gather_in_chunks(
            batch_size, gathered_batches=(lambda ids: None) if eager else settle_all, run_id=run_id
        )
    except Exception as exc:
        log.exception("payout run %s failed", run_id)
        with session_scope() as session:
            runs.fail(session, run_id, f"{type(exc).__name__}: {exc}")
        return
    with session_scope() as session:
        runs.gathered(session, run_id, done)
    if eager:
        settle_here(done.batch_ids, IN_PROCESS_WAIT)
