"""The app the tests' `client` fixtures talk to: one per worker and per app-shaping settings.

Building an app is cheap (`create_app`, about 0.04 s), but its first request is not: FastAPI 0.165
builds the route contexts of every included router lazily, once per app (about 0.2-0.4 s, measured
with py-spy in issue 17). A suite whose every test made its own app paid that a thousand times.

So `app_for_this_test()` hands out one app per distinct *app-shaping* settings, and gives it back
as if new:
- The key is every setting except `PER_TEST`: the places each test has of its own (its database,
  its data directory, its audit checkpoints, its files), which the app reads per request through
  `get_settings()` and never keeps. A test that changes any other setting (docs off, a rate limit,
  a body bound, the metrics token) gets an app of its own, built from those settings.
- What an app keeps between requests is made anew: the rate-limit buckets (`app.state`) and the
  middleware stack, whose `Admission` holds a semaphore bound to the previous test's event loop.

Tests that build an app on purpose (a failing commit, routes added to it) keep calling
`create_app()` themselves.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import SecretStr

from subsidy.api.ratelimit import RateLimits
from subsidy.app import create_app
from subsidy.settings import Settings, get_settings

PER_TEST = frozenset(
    {
        "database_url",
        "data_dir",
        "audit_checkpoint_dir",
        "notify_file",
        "mail_journal",
        "today",
    }
)
"""Settings each test has its own of; the app reads them per request, so they do not shape it."""

_apps: dict[tuple[tuple[str, Any], ...], FastAPI] = {}


def shaping(settings: Settings) -> tuple[tuple[str, Any], ...]:
    """The settings an app may keep from its construction, secrets by their value."""
    return tuple(
        (name, value.get_secret_value() if isinstance(value, SecretStr) else value)
        for name, value in sorted(settings)
        if name not in PER_TEST
    )


def app_for_this_test() -> FastAPI:
    settings = get_settings()
    key = shaping(settings)
    app = _apps.get(key)
    if app is None:
        app = _apps[key] = create_app()
    else:
        renew(app, settings)
    return app


def renew(app: FastAPI, settings: Settings) -> None:
    """Give back what an app keeps between requests as `create_app` made it."""
    app.state.rate_limits = RateLimits.configured(settings)
    app.middleware_stack = None  # rebuilt on the next request, with a new Admission
