"""`qinqing notify`: deliver the outbox; list the undelivered notices; requeue one."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from subsidy import localtime
from subsidy.actors import actor
from subsidy.auth import Role
from subsidy.console import make_console, refusals
from subsidy.db import require_current_schema, session_scope
from subsidy.notifications import service
from subsidy.notifications.configured import delivering
from subsidy.notifications.service import Delivery
from subsidy.settings import get_settings

console = make_console()


def notify(
    batch: Annotated[int, typer.Option(min=1, help="Messages per transaction.")] = 1_000,
    undelivered: Annotated[
        bool, typer.Option("--undelivered", help="List the undelivered notices instead.")
    ] = False,
    requeue: Annotated[
        int | None,
        typer.Option(
            "--requeue",
            metavar="ID",
            min=1,
            help="Make undelivered notice ID pending again (after its address was corrected).",
        ),
    ] = None,
    by: Annotated[
        str, typer.Option("--by", help="The officer who requeues (recorded as officer:NAME).")
    ] = getpass.getuser(),
    limit: Annotated[
        int, typer.Option(min=1, max=10_000, help="Undelivered notices listed at most.")
    ] = 100,
) -> None:
    """Deliver every pending notification through the configured sender (QINQING_NOTIFY_SENDER:
    the file by default, or e-mail), each exactly once."""
    with refusals():
        require_current_schema()
        if undelivered:
            _list_undelivered(limit)
        elif requeue is not None:
            _requeue(requeue, by)
        else:
            _deliver(batch)


def _deliver(batch: int) -> None:
    settings = get_settings()
    how = delivering(settings)
    total = Delivery()
    while True:
        # One transaction per batch: a failure loses at most the batch in flight, which the
        # next run resends and the sender drops as already delivered.
        with session_scope() as session:
            done = service.deliver(
                session, how.sender, limit=batch, addresses=how.addresses, retry=how.retry
            )
        total = total + done
        if done.handled < batch:
            break
    console.print(f"delivered {total.delivered:,} notifications to {how.where}", markup=False)
    if total.deferred:
        console.print(f"{total.deferred:,} deferred: the relay will be tried again later")
    if total.undelivered:
        console.print(
            f"{total.undelivered:,} undelivered: `qinqing notify --undelivered` lists them",
            markup=False,
        )


def _list_undelivered(limit: int) -> None:
    with session_scope() as session:
        rows = service.undelivered(session, limit=limit)
        total = service.count_undelivered(session)
    table = Table(
        "id", "firm", "policy", "kind", "why", "reason", f"at ({localtime.zone_name()})",
        box=box.SIMPLE, title=f"undelivered notices: {total:,}",
    )  # fmt: skip
    for n in rows:
        reason = escape(n.undelivered_reason or "")
        at = localtime.shown(n.undelivered_at)
        why = str(n.undelivered)
        table.add_row(str(n.id), n.uscc, escape(n.policy_id), str(n.kind), why, reason, at)
    console.print(table)
    if total > len(rows):
        console.print(f"the first {len(rows):,} of {total:,} (--limit)")


def _requeue(notification_id: int, by: str) -> None:
    with session_scope() as session:
        service.requeue(session, notification_id, by=actor(Role.OFFICER, by))
    console.print(f"notification {notification_id} is pending again (requeued by officer:{by})")
