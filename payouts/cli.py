"""`qinqing payouts run`, `qinqing worker` and `qinqing beat`."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from payouts import repository, tasks
from payouts.errors import BatchesLeftOpen
from subsidy.console import make_console, refusals
from subsidy.db import require_current_schema, session_scope
from subsidy.jobs import celery_app, shown_broker, workers_answering
from subsidy.settings import get_settings

console = make_console()


def run(
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1, max=50_000, help="Items per batch at most (QINQING_PAYOUT_BATCH_SIZE)."
        ),
    ] = None,
    wait: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds to wait for every batch to settle (with a broker: for the "
            "`qinqing worker` processes; 0: hand the batches to them and return).",
        ),
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
        left = tasks.settle_here(open_ids, wait) if eager else _wait_for_workers(open_ids, wait)
    console.print(f"{len(left):,} batches still open" if left else "every batch settled")
    with refusals():
        came_back = tasks.collect_returns_once()
    console.print(f"{came_back:,} payments came back from the bank")


PROGRESS_SECONDS = 15.0
"""How often a wait on the workers says how far they got."""


def _wait_for_workers(open_ids: list[int], wait: float) -> list[int]:
    """With a broker, `qinqing worker` processes settle the batches: say so before waiting
    (and whether any worker answers), how far they got while waiting, and the way out when
    they did not finish within `wait` seconds (BatchesLeftOpen)."""
    if not open_ids:
        return open_ids
    broker = shown_broker()
    answering = workers_answering()
    if wait <= 0:  # --wait 0: hand the batches to the workers and return
        who = f"{answering} answering" if answering else "none answering: start `qinqing worker`"
        console.print(
            f"{len(open_ids):,} batches sent to the Celery workers on {broker} ({who}); "
            "not waiting (--wait 0)"
        )
        return open_ids
    if answering:
        console.print(
            f"waiting up to {wait:g} s (--wait) for {answering} Celery worker(s) on {broker} "
            f"to settle {len(open_ids):,} batches"
        )
    else:
        console.print(
            f"[yellow]no Celery worker answers on {broker}: the {len(open_ids):,} open batches "
            "are settled by `qinqing worker`; start it (with the same QINQING_BROKER_URL and "
            f"QINQING_DATABASE_URL) in another terminal. Waiting up to {wait:g} s (--wait) "
            "for one.[/yellow]"
        )
    started = time.monotonic()
    deadline, report_at = started + wait, started + PROGRESS_SECONDS
    while True:
        with session_scope() as session:
            left = repository.open_batches(session)
        now = time.monotonic()
        if not left:
            return left
        if now >= deadline:
            raise BatchesLeftOpen(len(left), wait, broker, workers=workers_answering())
        if now >= report_at:
            console.print(
                f"{len(left):,} of {len(open_ids):,} batches still open after "
                f"{now - started:.0f} s of {wait:g} s"
            )
            report_at = now + PROGRESS_SECONDS
        time.sleep(min(0.5, max(0.0, deadline - now)))


def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 2,
    beat: Annotated[
        bool, typer.Option(help="Also run the beat schedule (payouts every minute).")
    ] = False,
) -> None:
    """Start a Celery worker on the configured broker (QINQING_BROKER_URL). In production run
    the beat as its own process (`qinqing beat`, exactly one) rather than with --beat."""
    _require_broker()
    arguments = ["worker", "--loglevel=INFO", f"--concurrency={concurrency}", "--pool=prefork"]
    if beat:
        arguments += ["--beat", f"--schedule={_beat_schedule_file()}"]
    celery_app.worker_main(arguments)


def beat() -> None:
    """Run the beat on its own: every QINQING_PAYOUT_SWEEP_SECONDS it sends a payout run and a
    sweep of the open batches to the broker for `qinqing worker` processes. Run exactly one
    (two beats send everything twice; the tasks are idempotent, the work is not free)."""
    _require_broker()
    celery_app.start(["beat", "--loglevel=INFO", f"--schedule={_beat_schedule_file()}"])


def _require_broker() -> None:
    if not get_settings().broker_url:
        raise typer.BadParameter("set QINQING_BROKER_URL: without a broker tasks run in-process")


def _beat_schedule_file() -> str:
    """The beat's record of when each entry last ran, in the data directory (never the
    working directory a service manager happens to start it in)."""
    folder = get_settings().data_dir
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / "celerybeat-schedule")
