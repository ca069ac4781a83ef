"""Per-client rate limits on the expensive endpoints: 429 problem+json with Retry-After.

A client is who the request authenticates as (`enterprise:<USCC>` for a firm, whichever token it
uses; `<role>:<subject>` otherwise), else its remote address: a flood of requests without a valid
token is limited too, before the endpoint answers 401. Each limit (`Settings.rate`) is a token
bucket per client: up to N requests at once, then one more every period / N.

Where the buckets live: with a Redis broker (QINQING_BROKER_URL redis://...) in Redis, one atomic
script per request, so a limit holds across all the workers and hosts of a deployment (a client's
requests are spread over them); else in the worker process, so each worker allows the limit on
its own (with --workers N a client gets up to N times it). If Redis fails, the limit falls back
to the worker's buckets rather than refusing everyone: a limit protects the service, it must not
become a way to stop it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Protocol, get_args

import redis.asyncio as redis
from fastapi import Depends, Request

from subsidy import actors
from subsidy.api.problems import RateLimited
from subsidy.api.security import caller_if_any
from subsidy.auth import Principal, Role
from subsidy.settings import Rate, RateLimitName, Settings

Limit = RateLimitName
LIMITS: tuple[Limit, ...] = get_args(RateLimitName)

log = logging.getLogger(__name__)


class Buckets(Protocol):
    async def take(self, client: str) -> float:
        """Take one request from the client's bucket: 0, or the seconds until one is there."""
        ...


class LocalBuckets:
    """The buckets of one worker process (the event loop's thread only: no lock needed)."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(rate.requests)
        self.seconds_per_request = rate.seconds / rate.requests
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, when)

    async def take(self, client: str) -> float:
        now = self._clock()
        tokens, then = self._buckets.get(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - then) / self.seconds_per_request)
        if tokens < 1:
            self._buckets[client] = (tokens, now)
            return (1 - tokens) * self.seconds_per_request
        self._buckets[client] = (tokens - 1, now)
        if len(self._buckets) > 100_000:
            self._forget_full(now)
        return 0.0

    def _forget_full(self, now: float) -> None:
        """A bucket refilled to capacity is the same as none: bound memory by forgetting them."""
        refill = self.capacity * self.seconds_per_request
        self._buckets = {c: b for c, b in self._buckets.items() if now - b[1] < refill}


# KEYS[1] the client's bucket; ARGV capacity, seconds per request. Redis' own clock, so that
# workers on hosts with different clocks share one bucket; the key expires once full again.
_TAKE = """
local capacity = tonumber(ARGV[1])
local per_request = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) / per_request)
local wait = 0
if tokens < 1 then
  wait = (1 - tokens) * per_request
else
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity * per_request) + 1)
return tostring(wait)
"""


class RedisBuckets:
    """The buckets of every worker, in Redis; the worker's own while Redis cannot be reached."""

    RETRY_REDIS_AFTER = 30.0  # seconds on the worker's buckets after Redis failed

    def __init__(self, rate: Rate, url: str, limit: Limit) -> None:
        self.rate = rate
        self.url = url
        self.prefix = f"qinqing:rate:{limit}:"
        self.fallback = LocalBuckets(rate)
        self._client: redis.Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._down_until = 0.0

    async def take(self, client: str) -> float:
        if time.monotonic() < self._down_until:
            return await self.fallback.take(client)
        args = [self.rate.requests, self.rate.seconds / self.rate.requests]
        try:
            wait = await self._redis().eval(_TAKE, 1, self.prefix + client, *args)
        except (redis.RedisError, OSError) as exc:
            log.warning(
                "rate limits per worker for %.0f s: Redis at %s failed: %s",
                self.RETRY_REDIS_AFTER,
                self.url,
                exc,
            )
            self._down_until = time.monotonic() + self.RETRY_REDIS_AFTER
            return await self.fallback.take(client)
        return float(wait)

    def _redis(self) -> redis.Redis:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:  # a client belongs to its loop
            self._client = redis.Redis.from_url(
                self.url, socket_timeout=1, socket_connect_timeout=1
            )
            self._loop = loop
        return self._client


class RateLimits:
    """The buckets of each limit that is on, built once per application from the settings."""

    def __init__(self, buckets: dict[Limit, Buckets]) -> None:
        self.buckets = buckets

    @classmethod
    def configured(cls, settings: Settings) -> RateLimits:
        shared = settings.broker_url.startswith(("redis://", "rediss://"))
        buckets: dict[Limit, Buckets] = {}
        for limit in LIMITS:
            rate = settings.rate(limit)
            if rate is None:
                continue
            buckets[limit] = (
                RedisBuckets(rate, settings.broker_url, limit) if shared else LocalBuckets(rate)
            )
        return cls(buckets)

    async def check(self, limit: Limit, client: str) -> None:
        """Raise RateLimited when `client` has used up `limit` for now."""
        buckets = self.buckets.get(limit)
        if buckets is None:
            return
        wait = await buckets.take(client)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise RateLimited(
                f"too many {limit} requests from {client}; try again in {retry_after} s",
                retry_after=retry_after,
            )


def client_of(request: Request, principal: Principal | None) -> str:
    """Whose bucket a request takes from."""
    if principal is None:
        return f"address:{request.client.host if request.client else 'unknown'}"
    if principal.role is Role.ENTERPRISE and principal.uscc is not None:
        return actors.firm(principal.uscc)  # the firm's bucket, whoever of it signs in
    return principal.actor


async def check(request: Request, limit: Limit, principal: Principal | None) -> None:
    limits: RateLimits = request.app.state.rate_limits
    await limits.check(limit, client_of(request, principal))


def rate_limited(limit: Limit) -> Callable[..., Awaitable[None]]:
    """A dependency of an API endpoint: 429 once the caller has used up `limit`.

    It reads the bearer token itself (the endpoint's `allow` answers 401 for a bad one), so that
    requests without a valid token are limited by address."""

    async def limited(
        request: Request, principal: Annotated[Principal | None, Depends(caller_if_any)]
    ) -> None:
        await check(request, limit, principal)

    return limited
