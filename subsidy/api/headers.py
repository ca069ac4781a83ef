"""Security headers on every response: pages, API answers, problems, redirects, static files,
and the 500 Starlette's error middleware writes (this wraps the whole stack, see `app.py`).

A pure ASGI middleware: it adds the headers to `http.response.start` and touches nothing else
(no body buffering, streaming and file responses pass as they are). A header the response set
itself is kept.

- Content-Security-Policy: only this origin's scripts, styles and images, no inline script or
  style (the templates keep theirs in static/portal.js and portal.css), no plugins, forms post
  here only, never framed. /docs and /redoc (when enabled) load Swagger UI and ReDoc from their
  CDN with an inline bootstrap script: those two pages alone get a policy that allows that.
- X-Frame-Options DENY (frame-ancestors for older browsers), X-Content-Type-Options nosniff,
  Referrer-Policy same-origin: no URL of the portal leaves in a Referer to another site (not
  no-referrer: browsers then send `Origin: null` on our own forms, which the CSRF check refuses).
- Strict-Transport-Security when the request came over HTTPS (behind a proxy: uvicorn's
  --proxy-headers gives the scheme the proxy saw).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PORTAL_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_POLICY = (
    f"default-src 'self'; script-src 'self' 'unsafe-inline' {DOCS_CDN}; "
    f"style-src 'self' 'unsafe-inline' {DOCS_CDN} https://fonts.googleapis.com; "
    f"img-src 'self' data: {DOCS_CDN} https://fastapi.tiangolo.com; "
    "font-src 'self' https://fonts.gstatic.com; worker-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/redoc"})
HSTS = "max-age=31536000; includeSubDomains"

_ALWAYS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = _headers_for(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in added if name not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _headers_for(scope: Scope) -> list[tuple[bytes, bytes]]:
    path = scope.get("path", "")
    policy = DOCS_POLICY if path in DOCS_PATHS else PORTAL_POLICY
    headers = [(b"content-security-policy", policy.encode()), *_ALWAYS]
    if scope.get("scheme") == "https":
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers
