"""Admission control: a bounded number of requests in flight per worker process.

Without it a burst deadlocks a worker: FastAPI runs sync endpoints, sync dependencies and the
validation of a sync endpoint's answer in one thread pool. A redemption that has reserved the
budget holds the budget row locked until its unit of work commits, and before that its answer is
validated in the pool; when every thread of the pool is taken by requests waiting for that lock
(or for a connection held by such a request), nobody moves until the pool's checkout timeout
answers 500 (issue 13, measured with py-spy: 0 of 200 firms served).

So at most `limit` requests are admitted at a time, fewer than the threads and the connections
(`Settings.threads`, `Settings.connections`): each admitted request then always finds a thread and
a connection, and only waits for database locks that requests that are running hold. The others
wait here, in the event loop (no thread, no connection), for at most `wait` seconds, and are then
answered 503 problem+json with Retry-After.

Never queued: what needs neither the database nor much time and must answer under load, i.e. the
liveness probe (an orchestrator must not restart a worker for being busy), the metrics (load is
when they are needed) and the portal's static files (a page admitted is useless without its
stylesheet and script); they use the spare threads.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

from subsidy.api.problems import Overloaded, answer

NEVER_QUEUED = frozenset({"/healthz", "/metrics"})
NEVER_QUEUED_UNDER = "/static/"


class Admission:
    """A pure ASGI middleware: waiting for admission costs a coroutine, not a thread."""

    def __init__(self, app: ASGIApp, *, limit: int, wait: float, retry_after: int) -> None:
        self.app = app
        self.limit = limit
        self.wait = wait
        self.retry_after = retry_after
        self._admitted = asyncio.Semaphore(limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not queued(scope["path"]):
            await self.app(scope, receive, send)
            return
        try:
            await asyncio.wait_for(self._admitted.acquire(), self.wait)
        except TimeoutError:
            refusal = Overloaded(
                f"more than {self.limit} requests in flight for {self.wait:g} s; "
                f"try again in {self.retry_after} s",
                retry_after=self.retry_after,
            )
            await answer(refusal)(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._admitted.release()


def queued(path: str) -> bool:
    """Whether a request for `path` waits for admission (and may be answered 503)."""
    return not (path in NEVER_QUEUED or path.startswith(NEVER_QUEUED_UNDER))
