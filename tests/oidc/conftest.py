"""A real OpenID provider on loopback for the sign-in tests: `oidc-provider` from the npm
registry (tests/oidc/package.json, package-lock.json), run by tests/oidc/provider.mjs with the
machine's Node.js.

The first run installs it with `npm ci` into a cache folder named by the lock file's hash
(QINQING_TEST_NPM_CACHE, default ~/.cache/qinqing/oidc-provider), later runs reuse it. The
provider listens on a free port of 127.0.0.1 under the issuer http://localhost:PORT (another
site than the portal's http://127.0.0.1:..., so the browser treats the provider as the third
party it is). Without node or npm the tests skip, except under CI=true, where they fail (as
tests/conftest.py does for PostgreSQL and Redis).

Accounts (any password on the provider's own login form):
    firm        a firm of the registry the `registered` fixture imports
    bad-uscc    a USCC claim that is no valid USCC
    stranger    a valid USCC the registry does not hold
    li          an officer (group policy-officers)
    wang        a finance user (group finance)
    nobody      only a group the role map does not know
    both        groups of two roles
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from subsidy import db
from subsidy.registry import demo
from subsidy.registry import service as registry_service
from subsidy.settings import get_settings

HERE = Path(__file__).parent
CLIENT_ID = "qinqing-portal"
CLIENT_SECRET = "a-client-secret-of-the-test-provider-only"
API_AUDIENCE = "urn:qinqing:api"
ROLE_MAP = "policy-officers=officer,finance=finance,auditors=auditor"
TEST_BASE = "http://testserver"
"""The portal as TestClient calls it."""
INVALID_USCC = "91330100MA27XXXXX0"


def _unavailable(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def firms() -> tuple[list[str], str]:
    """The registry's firms (20, seed 3) and a valid USCC that is not among them."""
    registered = demo.generate(20, seed=3)[0]["uscc"].to_list()
    other = next(u for u in demo.generate(20, seed=4)[0]["uscc"].to_list() if u not in registered)
    return registered, other


@dataclass(frozen=True)
class OpenIdProvider:
    issuer: str
    browser_portal: str
    """The base URL the browser tests must serve the portal on (its callback is registered)."""
    firm_uscc: str
    stranger_uscc: str

    def login(self, http: httpx.Client, authorize_url: str, account: str) -> str:
        """Sign `account` in on the provider's own login form, starting from the authorization
        URL; the URL the provider sends the browser back to (the portal's callback)."""
        answer = http.get(authorize_url)
        while answer.is_redirect:
            location = str(answer.next_request.url) if answer.next_request else ""
            if not location.startswith(self.issuer):
                return location
            answer = http.get(location)
        form_action = _form_action(answer.text)
        if form_action.startswith("/"):
            form_action = self.issuer + form_action
        answer = http.post(
            form_action,
            data={"prompt": "login", "login": account, "password": "any"},
        )
        while answer.is_redirect:
            location = str(answer.next_request.url) if answer.next_request else ""
            if not location.startswith(self.issuer):
                return location
            answer = http.get(location)
        raise AssertionError(f"the provider did not send the browser back: {answer.text[:500]}")


def _form_action(page: str) -> str:
    marker = 'action="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


def _installed() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        _unavailable(
            "node and npm are needed to run the OpenID provider (apt-get install nodejs npm)"
        )
    lock = (HERE / "package-lock.json").read_bytes() + (HERE / "package.json").read_bytes()
    default = Path.home() / ".cache" / "qinqing" / "oidc-provider"
    folder = (
        Path(os.environ.get("QINQING_TEST_NPM_CACHE", default))
        / hashlib.sha256(lock).hexdigest()[:16]
    )
    folder.mkdir(parents=True, exist_ok=True)
    # The suite's workers (pytest-xdist) share the folder: one installs, the others wait for it.
    with (folder.parent / f"{folder.name}.lock").open("w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        _install_into(folder)
    return folder


def _install_into(folder: Path) -> None:
    for name in ("package.json", "package-lock.json", "provider.mjs"):
        shutil.copy(HERE / name, folder / name)
    if not (folder / "node_modules" / "oidc-provider").is_dir():
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            _unavailable(f"npm ci of the OpenID provider failed: {done.stderr[-2000:]}")


@pytest.fixture(scope="session")
def openid_provider() -> Iterator[OpenIdProvider]:
    folder = _installed()
    port, portal_port = _free_port(), _free_port()
    issuer = f"http://localhost:{port}"
    browser_portal = f"http://127.0.0.1:{portal_port}"
    registered, stranger = firms()
    config = {
        "port": port,
        "issuer": issuer,
        "api_audience": API_AUDIENCE,
        "client": {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [
                f"{base}/sign-in/oidc/callback" for base in (TEST_BASE, browser_portal)
            ],
            "post_logout_redirect_uris": [
                f"{base}/sign-in" for base in (TEST_BASE, browser_portal)
            ],
        },
        "accounts": {
            "firm": {"name": "企业经办人", "uscc": registered[0]},
            "bad-uscc": {"name": "Bad", "uscc": INVALID_USCC},
            "stranger": {"name": "Stranger", "uscc": stranger},
            "li": {"name": "Li Officer", "groups": ["policy-officers", "staff"]},
            "wang": {"name": "Wang Finance", "groups": ["finance"]},
            "nobody": {"name": "Nobody", "groups": ["staff"]},
            "both": {"name": "Both", "groups": ["policy-officers", "finance"]},
        },
    }
    env = {**os.environ, "QINQING_TEST_PROVIDER": json.dumps(config), "NODE_ENV": "test"}
    process = subprocess.Popen(
        ["node", "provider.mjs"],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_discovery(process, issuer)
        yield OpenIdProvider(issuer, browser_portal, registered[0], stranger)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_discovery(process: subprocess.Popen[str], issuer: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _, errors = process.communicate()
            pytest.fail(f"the OpenID provider stopped: {errors[-2000:]}")
        try:
            if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=1).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail("the OpenID provider did not answer its discovery within 30 s")


@pytest.fixture
def oidc_settings(
    openid_provider: OpenIdProvider, app_env: Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[OpenIdProvider]:
    """The portal configured for the provider (QINQING_OIDC_*), over the test database."""
    for name, value in {
        "QINQING_OIDC_ISSUER": openid_provider.issuer,
        "QINQING_OIDC_CLIENT_ID": CLIENT_ID,
        "QINQING_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "QINQING_OIDC_ROLE_MAP": ROLE_MAP,
        "QINQING_OIDC_API_AUDIENCE": API_AUDIENCE,
        "QINQING_OIDC_NAME": "Test ID",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield openid_provider
    get_settings.cache_clear()


@pytest.fixture
def registered(app_env: Engine, data_dir: Path, tmp_path: Path) -> list[str]:
    """The 20 firms of the registry, imported."""
    paths = demo.write(*demo.generate(20, seed=3), tmp_path / "registry", "parquet")
    with db.session_scope(app_env) as session:
        registry_service.import_registry(session, *paths, data_dir=data_dir)
    return firms()[0]
