"""`qinqing notify`: deliver the outbox."""

from __future__ import annotations

from typing import Annotated

import typer

from subsidy.console import make_console, refusals
from subsidy.db import require_current_schema, session_scope
from subsidy.notifications import service
from subsidy.notifications.senders import FileSender
from subsidy.settings import get_settings

console = make_console()


def notify(
    batch: Annotated[int, typer.Option(min=1, help="Messages per transaction.")] = 1_000,
) -> None:
    """Deliver every pending notification through the file sender, each exactly once."""
    path = get_settings().notifications_path
    sender = FileSender(path)
    total = 0
    with refusals():
        require_current_schema()
        while True:
            # One transaction per batch: a failure loses at most the batch in flight, which the
            # next run resends and the sender drops as already delivered.
            with session_scope() as session:
                sent = service.deliver(session, sender, limit=batch)
            total += sent
            if sent < batch:
                break
    console.print(f"delivered {total:,} notifications to {path}")
