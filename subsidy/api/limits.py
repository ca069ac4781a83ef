"""The request body limit: a pure ASGI middleware in front of routing, parsing and authentication.

A body whose Content-Length is over the limit is refused before a byte of it is read; a chunked
body (no Content-Length) is read until it passes the limit, then refused, so at most the limit is
ever held. Both answer 413 problem+json `urn:qinqing:problem:body-too-large`. Routes that take a
policy document have a larger limit (`Settings.max_document_body_bytes`), and so do those that
take a bank statement file (`Settings.max_statement_body_bytes`); no HTTP route takes a registry
file (those are imported with the `qinqing` command).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from subsidy.api.problems import MEDIA_TYPE, TYPE_PREFIX
from subsidy.settings import Settings

DOCUMENT_PATHS = ("/api/v1/policy-drafts", "/officer/drafts", "/api/v1/registry/declarations")
"""Where a policy document is sent (the API's drafts and the portal's editor) and a registry
declaration (prefixes)."""
STATEMENT_PATHS = ("/api/v1/bank-statements", "/finance/statements")
"""Where a bank statement file is uploaded: the API and the portal's form."""


@dataclass(frozen=True)
class BodyLimits:
    default: int
    documents: int
    statements: int = 0
    document_paths: Sequence[str] = DOCUMENT_PATHS
    statement_paths: Sequence[str] = STATEMENT_PATHS

    def of(self, path: str) -> int:
        if _under(path, self.document_paths):
            return max(self.default, self.documents)
        if _under(path, self.statement_paths):
            return max(self.default, self.statements)
        return self.default


def _under(path: str, prefixes: Sequence[str]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.of(scope["path"])
        declared = _content_length(scope)
        if declared is not None:
            if declared > limit:
                await _refuse(send, limit, f"the body has {declared:,} bytes")
                return
            await self.app(scope, receive, send)  # the server reads no more than it declared
            return
        buffered: list[Message] = []
        size = 0
        while True:  # chunked: read up to the limit before anything else sees the request
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > limit:
                await _refuse(send, limit, f"the body passed {limit:,} bytes")
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(buffered, receive), send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length before we are called
    return None


def _replay(buffered: list[Message], receive: Receive) -> Receive:
    pending = list(buffered)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


async def _refuse(send: Send, limit: int, what: str) -> None:
    body = json.dumps(
        {
            "type": TYPE_PREFIX + "body-too-large",
            "title": "The request body is too large",
            "status": 413,
            "detail": f"{what}; this endpoint takes at most {limit:,} bytes: send a smaller "
            "body (a policy document goes to /api/v1/policy-drafts; registry and statement "
            "files are imported with the `qinqing` command, not over HTTP)",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def install(app: FastAPI, settings: Settings) -> None:
    """Refuse large bodies in front of everything the app does with a request."""
    limits = BodyLimits(
        settings.max_body_bytes,
        settings.max_document_body_bytes,
        settings.max_statement_body_bytes,
    )
    app.add_middleware(BodyLimitMiddleware, limits=limits)
