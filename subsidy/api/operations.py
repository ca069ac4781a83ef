"""Who may read /metrics: what the operator configured, else nobody outside development.

`QINQING_METRICS_TOKEN` opens it to `Authorization: Bearer <token>`; `QINQING_METRICS_CLIENTS`
to requests from the listed addresses or networks (the client address uvicorn reports: behind a
proxy, run it with --proxy-headers and --forwarded-allow-ips so that it is the real client).
With neither, /metrics is open in development and answers 404 anywhere else, as if absent.
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import Request

from subsidy.api.problems import NotFound
from subsidy.settings import Settings


def metrics_allowed(request: Request, settings: Settings) -> bool:
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    networks = settings.metrics_networks
    if not token and not networks:  # an empty QINQING_METRICS_TOKEN= opens nothing
        return settings.environment == "development"
    if token:
        sent = request.headers.get("authorization", "")
        if hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return True
    return _client_in(request, networks)


def check_metrics(request: Request, settings: Settings) -> None:
    """A refusal is a 404: /metrics does not show itself to whoever may not read it."""
    if not metrics_allowed(request, settings):
        raise NotFound(code="api.not_found.page")


def _client_in(
    request: Request, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
) -> bool:
    if request.client is None or not networks:
        return False
    try:
        address = ipaddress.ip_address(request.client.host)
    except ValueError:  # a test client's "testclient", a unix socket
        return False
    return any(address in network for network in networks)
