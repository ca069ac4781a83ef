"""What a firm is told, by the policy's mode: a one-click policy says how to redeem (一键兑付), an
automatic one that it was granted (已自动发放) or will be (将自动发放), never to click; a policy
outside its validity window tells nobody anything."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from subsidy import db
from subsidy.app import create_app
from subsidy.auth import Role, mint
from subsidy.notifications import service
from subsidy.notifications.senders import FileSender
from subsidy.settings import get_settings
from tests.redemption.helpers import TODAY, flat, load_registry, publish
from tests.redemption.test_automatic import automatic_flat, match

ONE_CLICK_ZH = "点击「一键兑付」"
NEVER_FOR_AUTOMATIC = ("一键", "Redeem", "click")


@pytest.fixture
def delivered(
    app_env: Engine, data_dir: Path, tmp_path: Path
) -> dict[tuple[str, str], dict[str, str]]:
    """30-odd active firms; a one-click policy, an automatic one whose budget covers 10 firms,
    an automatic one that expired yesterday and a one-click one valid from tomorrow; matched
    today and delivered. Each message by (uscc, policy)."""
    active = sorted(load_registry(app_env, data_dir, tmp_path / "registry", 40))
    assert len(active) > 10
    publish(app_env, flat("click-100", 100, 1_000_000))
    publish(app_env, automatic_flat("auto-250", 250, 2_600))
    yesterday, tomorrow = TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=1)
    expired = automatic_flat("auto-expired", 300, 1_000_000).model_copy(
        update={"valid_from": dt.date(2020, 1, 1), "valid_to": yesterday}
    )
    later = flat("click-later", 400, 1_000_000).model_copy(
        update={"valid_from": tomorrow, "valid_to": dt.date(2099, 12, 31)}
    )
    publish(app_env, expired)
    publish(app_env, later)
    match(app_env, data_dir, as_of=TODAY)
    out = tmp_path / "sent.jsonl"
    with db.session_scope(app_env) as session:
        assert service.deliver(session, FileSender(out)).delivered > 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return {(m["uscc"], m["policy_id"]): m for m in lines}


def test_each_mode_says_what_the_firm_does_next(
    delivered: dict[tuple[str, str], dict[str, str]],
) -> None:
    by_policy: dict[str, list[dict[str, str]]] = {}
    for (_, policy_id), message in delivered.items():
        by_policy.setdefault(policy_id, []).append(message)

    for m in by_policy["click-100"]:
        assert m["kind"] == "qualified"
        assert ONE_CLICK_ZH in m["text_zh"]
        assert "100.00 元" in m["text_zh"]
        assert "press Redeem" in m["text_en"]

    granted = [m for m in by_policy["auto-250"] if m["kind"] == "granted"]
    waiting = [m for m in by_policy["auto-250"] if m["kind"] == "qualified"]
    assert len(granted) == 10  # the budget covers ten
    assert waiting, "the firms beyond the budget are told they qualify"
    for m in granted:
        assert "已自动发放" in m["text_zh"]
        assert "has been granted to your firm automatically" in m["text_en"]
    for m in waiting:
        assert "将自动发放" in m["text_zh"]
        assert "will be granted to your firm automatically" in m["text_en"]
    for m in granted + waiting:
        assert not any(word in m["text_zh"] + m["text_en"] for word in NEVER_FOR_AUTOMATIC)
        assert "一键即可兑现" not in m["text_zh"]

    assert "auto-expired" not in by_policy  # not granted, not told: it is no longer in force
    assert "click-later" not in by_policy  # not yet in force


def test_the_api_tells_the_firm_the_same_words(
    app_env: Engine, delivered: dict[tuple[str, str], dict[str, str]]
) -> None:
    (uscc, _), _ = next((k, m) for k, m in delivered.items() if k[1] == "auto-250")
    token = mint(get_settings(), Role.ENTERPRISE, subject="firm", uscc=uscc)
    with TestClient(create_app()) as client:
        answer = client.get(
            "/api/v1/me/notifications", headers={"Authorization": f"Bearer {token}"}
        )
    assert answer.status_code == 200, answer.text
    mine = {n["policy_id"]: n for n in answer.json()}
    assert set(mine) <= {"click-100", "auto-250"}
    assert mine["auto-250"]["text_zh"] == delivered[(uscc, "auto-250")]["text_zh"]
    assert mine["auto-250"]["text_en"] == delivered[(uscc, "auto-250")]["text_en"]
    assert "一键" not in mine["auto-250"]["text_zh"]
