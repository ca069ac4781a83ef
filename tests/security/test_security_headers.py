"""No Content-Security-Policy, X-Frame-Options, X-Content-Type-Options or Referrer-Policy was
sent. Now every response has them, whatever answers: a page, the API, a problem, a redirect, a
static file, a 404, a 500; HSTS over HTTPS. The templates hold no inline script, style or event
handler, so the policy allows none."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from subsidy.app import create_app

EXPECTED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
PATHS = {
    "page": "/sign-in",
    "redirect": "/",
    "page refusing (303 to sign in)": "/officer/policies",
    "API problem (401)": "/api/v1/policies",
    "API answer": "/healthz",
    "no such route (404)": "/nowhere",
    "static file": "/static/portal.css",
    "no such static file": "/static/nothing.js",
    "docs (development)": "/docs",
    "openapi": "/openapi.json",
}


def assert_secured(headers: object, where: str) -> None:
    found = {k.lower(): v for k, v in dict(headers).items()}  # type: ignore[call-overload]
    for name, value in EXPECTED.items():
        assert found.get(name) == value, (where, name, found)
    policy = found.get("content-security-policy", "")
    assert "default-src 'self'" in policy, where
    assert "frame-ancestors 'none'" in policy, where
    if where != "/docs":  # Swagger UI's own page alone needs its CDN and inline bootstrap
        assert "unsafe-inline" not in policy, where


@pytest.mark.parametrize("path", PATHS.values(), ids=PATHS.keys())
def test_every_kind_of_response_has_the_headers(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert_secured(response.headers, path)
    assert "strict-transport-security" not in response.headers  # plain HTTP: no HSTS


def test_a_server_error_has_the_headers_too(app_env: Engine) -> None:
    app = create_app()

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("an unexpected failure")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert_secured(response.headers, "/boom")


def test_over_https_strict_transport_security(app_env: Engine) -> None:
    with TestClient(create_app(), base_url="https://testserver") as client:
        for path in ("/sign-in", "/api/v1/policies", "/static/portal.css"):
            response = client.get(path, follow_redirects=False)
            assert_secured(response.headers, path)
            assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_the_templates_hold_no_inline_script_style_or_handler() -> None:
    inline = re.compile(
        r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|javascript:|hx-on", re.I
    )
    templates = resources.files("subsidy.web") / "templates"
    found = [
        f"{page.name}: {match.group(0)}"
        for page in templates.iterdir()
        if page.name.endswith(".html")
        for match in inline.finditer(page.read_text(encoding="utf-8"))
    ]
    assert found == []
