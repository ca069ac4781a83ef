"""What the portal promises a firm is true on the business date (2020-06-30 in the world): an
expired policy is never among 您符合条件的补贴, even when an earlier match found the firm, and
each clause shows what it read with its real value (`$today`, numbers, money, dates); the
officer's explanation, preview and `qinqing explain` say the same."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from matching import preview as previewing
from matching import service as matching_service
from policies.document import load_path
from subsidy import db
from subsidy.auth import Role
from tests.commands import qinqing, wide_terminal  # noqa: F401 (an autouse fixture)
from tests.portal.conftest import token_for
from tests.portal.test_pages import sign_in
from tests.portal.world import EXAMPLES, World

SPRING = "hz-2020-spring-festival-stay"  # automatic, valid 2020-02-10 .. 2020-05-31
STARTUP = "hz-2020-startup-hiring-subsidy"  # reads $today, max_age_days = 1095, min_insured = 3


def would_qualify(engine: Engine, data_dir: Path, policy_id: str, day: dt.date) -> list[str]:
    """The firms the policy's rules find on `day` (the compiled matcher, as a preview)."""
    document = load_path(EXAMPLES / f"{policy_id}.yaml")
    with Session(engine) as session:
        report = previewing.preview(session, data_dir, document, day)
    return sorted(report.per_firm.filter(report.per_firm["eligible"])["uscc"].to_list())


def bearer(role: Role, uscc: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(role, uscc)}"}


def test_an_expired_policy_is_never_among_the_subsidies_a_firm_qualifies_for(
    client: TestClient, world: World, portal_env: Engine, data_dir: Path
) -> None:
    firm = would_qualify(portal_env, data_dir, SPRING, dt.date(2020, 5, 31))[0]
    # An earlier match, while the policy was in force, found the firm; today it has expired.
    with db.session_scope(portal_env) as session:
        matching_service.run_match(session, data_dir, as_of=dt.date(2020, 5, 31))
    sign_in(client, Role.ENTERPRISE, firm)
    page = client.get("/firm").text
    qualified = page.split("暂不符合的政策")[0]
    assert f'id="subsidy-{SPRING}"' not in qualified
    assert f'id="other-{SPRING}"' in page
    assert "政策在 2020-06-30 已过期：有效期 2020-02-10 至 2020-05-31" in page
    english = client.get("/firm?lang=en").text
    assert (
        "policy not in force on 2020-06-30 (expired): valid 2020-02-10 … 2020-05-31"
        in html.unescape(english)
    )
    answer = client.get("/api/v1/me/qualifications", headers=bearer(Role.ENTERPRISE, firm))
    assert answer.status_code == 200, answer.text
    assert SPRING not in {q["policy_id"] for q in answer.json()}


def test_each_clause_shows_what_it_read_with_its_real_value(
    client: TestClient, world: World, portal_env: Engine, data_dir: Path
) -> None:
    firm = would_qualify(portal_env, data_dir, STARTUP, dt.date(2020, 6, 30))[0]
    sign_in(client, Role.ENTERPRISE, firm)
    page = html.unescape(client.get("/firm").text)
    assert "$today = 2020-06-30" in page
    assert "max_age_days = 1095" in page
    assert "min_insured = 3" in page
    assert re.search(r"established = \d{4}-\d{2}-\d{2}", page)
    assert "$today = None" not in page
    assert "1,095.00" not in page
    assert re.search(r"ui_premium = [\d,]+\.\d{2} 元", page)  # the UI refund's clause, in yuan
    assert re.search(r"employees = [\d,]+ 条员工记录", page)
    english = html.unescape(client.get("/firm?lang=en").text)
    assert re.search(r"ui_premium = [\d,]+\.\d{2} yuan", english)

    code, output = qinqing("explain", firm, STARTUP, "--as-of", "2020-06-30")
    assert code == 0, output
    assert "$today = 2020-06-30" in output
    assert "max_age_days = 1095" in output
    assert "min_insured = 3" in output
    assert "$today = null" not in output

    url = f"/api/v1/policies/{STARTUP}/explain/{firm}?as_of=2020-06-30"
    answer = client.get(url, headers=bearer(Role.OFFICER))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    reads = {k: v for c in body["clauses"] for k, v in c["reads"].items()}
    kinds = {k: v for c in body["clauses"] for k, v in c["kinds"].items()}
    assert reads["$today"] == "2020-06-30"
    assert reads["max_age_days"] == 1095
    assert reads["min_insured"] == 3
    assert (kinds["$today"], kinds["max_age_days"], kinds["established"]) == (
        "date",
        "number",
        "date",
    )
    assert body["validity"]["in_force"] is True
    assert body["qualifies"] is True

    later = client.get(
        f"/api/v1/policies/{STARTUP}/explain/{firm}?as_of=2021-01-01", headers=bearer(Role.OFFICER)
    ).json()
    assert (later["qualifies"], later["amount"], later["validity"]["in_force"]) == (
        False,
        None,
        False,
    )
    assert (
        later["validity"]["text_zh"] == "政策在 2021-01-01 已过期：有效期 2020-03-01 至 2020-12-31"
    )
    assert later["validity"]["text_en"].startswith("policy not in force on 2021-01-01 (expired)")


def test_a_preview_outside_the_window_says_so(
    client: TestClient, world: World, portal_env: Engine
) -> None:
    csrf = sign_in(client, Role.OFFICER)
    created = client.post(
        "/officer/drafts", data={"csrf": csrf, "start": SPRING}, follow_redirects=False
    )
    editor = client.get(created.headers["location"]).text
    found = re.search(r"<textarea[^>]*>(.*?)</textarea>", editor, re.S)
    assert found
    text = html.unescape(found.group(1))
    location = created.headers["location"]
    outside = client.post(
        f"{location}/preview",
        data={"text": text, "as_of": "2020-06-30"},
        headers={"X-CSRF-Token": csrf},
    )
    assert outside.status_code == 200, outside.text
    assert 'id="preview-not-in-force"' in outside.text
    assert "预览日期不在政策有效期内" in outside.text
    assert "政策在 2020-06-30 已过期" in outside.text
    assert re.search(r'id="preview-qualified">0<', outside.text)
    inside = client.post(
        f"{location}/preview",
        data={"text": text, "as_of": "2020-05-31"},
        headers={"X-CSRF-Token": csrf},
    )
    assert 'id="preview-not-in-force"' not in inside.text
    assert not re.search(r'id="preview-qualified">0<', inside.text)

    draft_id = location.rstrip("/").rsplit("/", 1)[-1]
    api = client.post(
        f"/api/v1/policy-drafts/{draft_id}/preview?as_of=2020-06-30", headers=bearer(Role.OFFICER)
    )
    assert api.status_code == 200, api.text
    body = api.json()
    assert (body["qualified"], body["validity"]["in_force"]) == (0, False)
    assert "已过期" in body["validity"]["text_zh"]
