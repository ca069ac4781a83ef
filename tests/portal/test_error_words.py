"""Domain errors in the portal's language (issue 14, point 3): a refused redemption and the draft
editor's rule problems read in Chinese by default, in English when the page is in English, and
the API's problem body carries the error's stable code."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from subsidy.auth import Role
from tests.portal.test_pages import sign_in
from tests.portal.world import World


def _refusal(page: str) -> str:
    found = re.search(r'<div class="refusal" role="alert">(.*?)</div>', page, re.S)
    assert found, page
    return html.unescape(found.group(1))


def _redeem_twice(client: TestClient, world: World, csrf: str, query: str = "") -> str:
    url = f"/firm/subsidies/{world.policy_id}/redeem"
    confirm = client.get(url).text
    key = re.search(r'name="key" value="(\w+)"', confirm)
    assert key
    first = client.post(url + query, data={"csrf": csrf, "key": key.group(1)})
    assert first.status_code == 200
    again = client.post(url + query, data={"csrf": csrf, "key": "another-click-key"})
    assert again.status_code == 409
    return _refusal(again.text)


def test_a_firm_redeeming_twice_reads_why_in_chinese_then_in_english(
    client: TestClient, world: World
) -> None:
    csrf = sign_in(client, Role.ENTERPRISE, world.firm)
    chinese = _redeem_twice(client, world, csrf)
    assert "已兑付过" in chinese
    # Nothing English is left but the names the error carries (the USCC and the policy id).
    rest = chinese.replace(world.firm, "").replace(world.policy_id, "")
    assert not re.findall(r"[A-Za-z]{2,}", rest), chinese
    english = _refusal(
        client.post(
            f"/firm/subsidies/{world.policy_id}/redeem?lang=en",
            data={"csrf": csrf, "key": "a-third-click-key"},
        ).text
    )
    assert f"{world.firm} has already redeemed {world.policy_id}" in english
    assert not re.findall(r"[\u4e00-\u9fff]", english.split(":", 1)[-1])


def _draft_with(client: TestClient, csrf: str, old: str, new: str) -> tuple[str, str]:
    created = client.post(
        "/officer/drafts", data={"csrf": csrf, "start": "hz-2020-ui-refund"}, follow_redirects=False
    )
    editor = client.get(created.headers["location"]).text
    found = re.search(r"<textarea[^>]*>(.*?)</textarea>", editor, re.S)
    assert found
    text = html.unescape(found.group(1))
    assert old in text
    return created.headers["location"], text.replace(old, new, 1)


def test_the_draft_editor_names_an_unknown_symbol_in_chinese_with_line_and_column(
    client: TestClient, world: World
) -> None:
    csrf = sign_in(client, Role.OFFICER)
    location, broken = _draft_with(client, csrf, "status ==", "statu ==")
    line, row = next((n, t) for n, t in enumerate(broken.splitlines(), 1) if "statu ==" in t)
    column = row.index("statu ==") + 1
    check = client.post(location + "/check", data={"text": broken}, headers={"X-CSRF-Token": csrf})
    issues = html.unescape(check.text)
    assert (
        f"第 {line} 行，第 {column} 列：资格条件中有未知的名称 'statu'，是否想写 'status'？"
        in issues
    ), issues
    assert "unknown symbol" not in issues
    assert 'data-code="policy.unknown_symbol_suggested"' in check.text
    english = client.post(
        location + "/check?lang=en", data={"text": broken}, headers={"X-CSRF-Token": csrf}
    )
    assert (
        f"line {line}, column {column}: eligibility: unknown symbol 'statu' "
        "(did you mean 'status'?)" in html.unescape(english.text)
    )


def test_the_draft_editor_words_a_result_type_problem_in_chinese(
    client: TestClient, world: World
) -> None:
    csrf = sign_in(client, Role.OFFICER)
    location, broken = _draft_with(client, csrf, "amount: ui_premium * refund_rate", "amount: name")
    check = client.post(location + "/check", data={"text": broken}, headers={"X-CSRF-Token": csrf})
    issues = html.unescape(check.text)
    assert "金额公式中的结果必须是数字，而不是文本" in issues, issues
    assert "must be" not in issues
