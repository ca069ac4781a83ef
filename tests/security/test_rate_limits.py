"""Per-client rate limits: 429 problem+json with Retry-After on the redemption POST, the draft
preview and the report export, API and portal (issue 13: a burst of one client stopped all)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from subsidy.api.ratelimit import LocalBuckets, RateLimits, RedisBuckets
from subsidy.app import create_app
from subsidy.auth import Role, mint
from subsidy.errors import ConfigurationError
from subsidy.registry import demo
from subsidy.settings import Rate, Settings, get_settings
from subsidy.web.session import COOKIE, csrf_token

FIRMS = demo.generate(2, seed=3)[0]["uscc"].to_list()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.anyio
async def test_a_bucket_allows_a_burst_then_one_request_per_share_of_the_period() -> None:
    clock = Clock()
    buckets = LocalBuckets(Rate(3, 60.0), clock)
    assert [await buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert await buckets.take("a") == pytest.approx(20.0)  # one every 60 / 3 s
    assert await buckets.take("b") == 0.0  # another client has its own bucket
    clock.now += 20
    assert await buckets.take("a") == 0.0
    assert await buckets.take("a") == pytest.approx(20.0)


def test_a_limit_reads_n_per_period_or_off_and_says_so_when_it_does_not() -> None:
    assert Settings(rate_limit_preview="2/second").rate("preview") == Rate(2, 1.0)
    assert Settings(rate_limit_preview="off").rate("preview") is None
    with pytest.raises(ConfigurationError, match=r"QINQING_RATE_LIMIT_REPORT.*N/minute"):
        Settings(rate_limit_report="ten a minute")


@pytest.fixture
def limited(app_env: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app with two requests a minute on each limit."""
    for limit in ("redeem", "preview", "report"):
        monkeypatch.setenv(f"QINQING_RATE_LIMIT_{limit.upper()}", "2/minute")
    get_settings.cache_clear()
    with TestClient(create_app()) as client:
        yield client
    get_settings.cache_clear()


def _bearer(role: Role, uscc: str | None = None, subject: str = "tester") -> dict[str, str]:
    return {"Authorization": f"Bearer {mint(get_settings(), role, subject=subject, uscc=uscc)}"}


def _redeem(client: TestClient, headers: dict[str, str]) -> int:
    key = {"Idempotency-Key": "key-of-the-test"}
    answer = client.post("/api/v1/redemptions", json={"policy_id": "none"}, headers=headers | key)
    return int(answer.status_code)


def test_a_firm_over_its_redemption_limit_gets_429_with_retry_after(limited: TestClient) -> None:
    firm = _bearer(Role.ENTERPRISE, FIRMS[0])
    same_firm_other_token = _bearer(Role.ENTERPRISE, FIRMS[0], subject="another")
    assert [_redeem(limited, firm), _redeem(limited, same_firm_other_token)] == [404, 404]
    answer = limited.post(
        "/api/v1/redemptions",
        json={"policy_id": "none"},
        headers=firm | {"Idempotency-Key": "key-of-the-test"},
    )
    assert answer.status_code == 429
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "urn:qinqing:problem:rate-limited"
    assert 1 <= int(answer.headers["retry-after"]) <= 30
    assert _redeem(limited, _bearer(Role.ENTERPRISE, FIRMS[1])) == 404  # another firm is served


def test_requests_without_a_valid_token_are_limited_by_address(limited: TestClient) -> None:
    anonymous = {"Authorization": "Bearer not-a-token"}
    assert [_redeem(limited, anonymous) for _ in range(3)] == [401, 401, 429]


def test_previews_and_reports_are_limited_per_officer_and_reader(limited: TestClient) -> None:
    officer = _bearer(Role.OFFICER)
    previews = [limited.post("/api/v1/policy-drafts/1/preview", headers=officer) for _ in range(3)]
    assert [p.status_code for p in previews] == [404, 404, 429]
    finance = _bearer(Role.FINANCE)
    reports = [limited.get("/api/v1/reports/disbursements.xlsx", headers=finance) for _ in range(3)]
    assert [r.status_code for r in reports][2] == 429
    assert "retry-after" in reports[2].headers


def _sign_in(client: TestClient, role: Role, uscc: str | None = None) -> str:
    """Sign in through the form with a pasted token; the session's CSRF token."""
    client.cookies.clear()
    token = mint(get_settings(), role, subject=f"{role}-page", uscc=uscc)
    signed = client.post("/sign-in", data={"token": token}, follow_redirects=False)
    assert signed.status_code == 303, signed.text
    return csrf_token(client.cookies[COOKIE])


def test_the_portal_pages_share_the_limits_and_say_when_to_retry(limited: TestClient) -> None:
    csrf = _sign_in(limited, Role.ENTERPRISE, FIRMS[0])
    form = {"csrf": csrf, "key": "page-key-of-the-test"}
    pages = [limited.post("/firm/subsidies/none/redeem", data=form) for _ in range(2)]
    api = _redeem(limited, _bearer(Role.ENTERPRISE, FIRMS[0]))  # the firm's third request
    assert [p.status_code for p in pages] + [api] == [409, 409, 429]
    _sign_in(limited, Role.FINANCE)
    reports = [limited.get("/finance/reports/disbursements.xlsx") for _ in range(3)]
    assert reports[2].status_code == 429
    assert "retry-after" in reports[2].headers
    assert "try again in" in reports[2].text or "秒后再试" in reports[2].text


def test_the_preview_page_is_limited_but_saving_a_draft_is_not(limited: TestClient) -> None:
    csrf = _sign_in(limited, Role.OFFICER)
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    form = {"text": "id: x"}
    saves = [limited.post("/officer/drafts/1/save", data=form, headers=headers) for _ in range(3)]
    assert all(s.status_code != 429 for s in saves)
    previews = [
        limited.post("/officer/drafts/1/preview", data=form, headers=headers) for _ in range(3)
    ]
    assert "retry-after" in previews[2].headers  # htmx swaps 2xx only: a partial says it
    assert "try again in" in previews[2].text or "秒后再试" in previews[2].text


@pytest.mark.redis
@pytest.mark.anyio
async def test_with_a_redis_broker_the_workers_share_one_bucket(redis_url: str) -> None:
    settings = Settings(broker_url=redis_url, rate_limit_redeem="3/minute")
    first_worker, second_worker = RateLimits.configured(settings), RateLimits.configured(settings)
    assert isinstance(first_worker.buckets["redeem"], RedisBuckets)
    waits = [
        await worker.buckets["redeem"].take("enterprise:x")
        for worker in (first_worker, second_worker, first_worker, second_worker)
    ]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(20.0, abs=1)


@pytest.mark.anyio
async def test_without_redis_the_limit_holds_in_the_worker_and_nobody_is_refused_for_it() -> None:
    unreachable = RedisBuckets(Rate(2, 60.0), "redis://127.0.0.1:1/0", "redeem")
    waits = [await unreachable.take("enterprise:x") for _ in range(3)]
    assert waits[:2] == [0.0, 0.0]
    assert waits[2] == pytest.approx(30.0, abs=1)
