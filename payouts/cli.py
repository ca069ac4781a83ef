"""`qinqing payouts run` and `qinqing worker`."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from payouts import repository, service, tasks
from subsidy.console import make_console, refusals
from subsidy.db import require_current_schema, session_scope
from subsidy.jobs import celery_app
from subsidy.settings import get_settings

console = make_console()


def run(
    batch_size: Annotated[
        int, typer.Option(min=1, max=50_000, help="Items per batch at most.")
    ] = service.BATCH_SIZE,
    wait: Annotated[
        float, typer.Option(min=0, help="Seconds to wait for every batch to settle.")
    ] = 600,
) -> None:
    """Gather approved redemptions into batches per bank and pay them through the bank.

    Without a broker the batches are settled here once everything is gathered; with one,
    `qinqing worker` settles each chunk's batches while the next chunk is gathered, and this
    waits (up to --wait) for them to finish."""
    with refusals():
        require_current_schema()
        eager = celery_app.conf.task_always_eager
        if not eager:  # what an earlier run left open is paid while this one gathers
            with session_scope() as session:
                tasks.settle_all(repository.open_batches(session))
        gathered = tasks.gather_in_chunks(
            batch_size, gathered_batches=(lambda ids: None) if eager else tasks.settle_all
        )
        with session_scope() as session:
            open_ids = repository.open_batches(session)
        console.print(
            f"gathered {gathered.items:,} items ({gathered.total:,.2f} yuan) into "
            f"{len(gathered.batch_ids):,} batches; {len(open_ids):,} batches open"
        )
        if gathered.without_account:
            console.print(
                f"[yellow]{len(gathered.without_account):,} approved redemptions have no bank "
                "account (registry or finance correction) and wait[/yellow]"
            )
        left = tasks.settle_here(open_ids, wait) if eager else _wait_for_workers(wait)
    console.print(f"{len(left):,} batches still open" if left else "every batch settled")
    with refusals():
        came_back = tasks.collect_returns_once()
    console.print(f"{came_back:,} payments came back from the bank")


def _wait_for_workers(wait: float) -> list[int]:
    deadline = time.monotonic() + wait
    while True:
        with session_scope() as session:
            left = repository.open_batches(session)
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.5)


def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 2,
    beat: Annotated[
        bool, typer.Option(help="Also run the beat schedule (payouts every minute).")
    ] = False,
) -> None:
    """Start a Celery worker on the configured broker (QINQING_BROKER_URL)."""
    if not get_settings().broker_url:
        raise typer.BadParameter("set QINQING_BROKER_URL: without a broker tasks run in-process")
    arguments = ["worker", "--loglevel=INFO", f"--concurrency={concurrency}", "--pool=prefork"]
    if beat:
        arguments.append("--beat")
    celery_app.worker_main(arguments)
