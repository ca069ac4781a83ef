"""The outbox: a match queues "you qualify" and "granted" once per firm and policy; `qinqing
notify` delivers each exactly once, even across a crash between sending and committing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from typer.testing import CliRunner

from subsidy import db
from subsidy.auth import Role, mint
from subsidy.cli import app
from subsidy.notifications import service
from subsidy.notifications.models import Notification
from subsidy.notifications.senders import FileSender
from subsidy.settings import get_settings
from tests.apps import app_for_this_test
from tests.redemption.helpers import flat, load_registry, publish, redeem

runner = CliRunner()


def qinqing(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def lines(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def firms(app_env: Engine, data_dir: Path, tmp_path: Path) -> list[str]:
    """40 active firms, two one-click policies published, one of them redeemed by the first firm."""
    active = sorted(load_registry(app_env, data_dir, tmp_path / "registry", 50))
    publish(app_env, flat("click-100", 100, 1_000_000))
    publish(app_env, flat("click-200", 200, 1_000_000))
    redeem(app_env, active[0], "click-200", "key-firm-0-200")
    return active


def test_match_queues_each_qualification_once_and_notify_delivers_once(
    app_env: Engine, data_dir: Path, firms: list[str]
) -> None:
    output = qinqing("match")
    expected = 2 * len(firms) - 1  # the firm that already redeemed click-200 is not told of it
    assert f"notifications queued: {expected:,} qualifications" in output
    assert "notifications queued: 0 qualifications" in qinqing("match")  # nobody twice

    assert f"delivered {expected:,} notifications" in qinqing("notify")
    delivered = lines(get_settings().notifications_path)
    assert len(delivered) == expected
    assert len({d["key"] for d in delivered}) == expected
    mine = [d for d in delivered if d["uscc"] == firms[1] and d["policy_id"] == "click-100"]
    assert mine[0]["amount"] == "100.00"
    assert "100.00 元" in mine[0]["text_zh"]
    assert "delivered 0 notifications" in qinqing("notify")
    assert len(lines(get_settings().notifications_path)) == expected


def test_a_crash_after_sending_does_not_deliver_twice(
    app_env: Engine, data_dir: Path, firms: list[str], tmp_path: Path
) -> None:
    qinqing("match")
    path = tmp_path / "out.jsonl"

    def crash_before_commit() -> None:
        with db.session_scope(app_env) as session:
            service.deliver(session, FileSender(path), limit=10)
            raise RuntimeError("the process dies before the commit")

    with pytest.raises(RuntimeError):
        crash_before_commit()
    assert len(lines(path)) == 10
    with Session(app_env) as session:
        pending = session.execute(
            select(Notification).where(col(Notification.delivered_at).is_(None))
        ).all()
        assert len(pending) == 2 * len(firms) - 1  # the rollback left them pending

    with db.session_scope(app_env) as session:  # a restarted sender on the same file
        assert service.deliver(session, FileSender(path), limit=1_000).delivered == len(pending)
    keys = [d["key"] for d in lines(path)]
    assert len(keys) == len(set(keys)) == len(pending)


@pytest.fixture
def client(app_env: Engine) -> Iterator[TestClient]:
    with TestClient(app_for_this_test()) as test_client:
        yield test_client


def test_a_firm_reads_only_its_own_notifications(
    client: TestClient, app_env: Engine, firms: list[str]
) -> None:
    qinqing("match")

    def of(uscc: str) -> list[dict[str, object]]:
        token = mint(get_settings(), Role.ENTERPRISE, subject="firm", uscc=uscc)
        answer = client.get(
            "/api/v1/me/notifications", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200
        return answer.json()  # type: ignore[no-any-return]

    first, second = of(firms[0]), of(firms[1])
    assert [n["policy_id"] for n in first] == ["click-100"]
    assert sorted(str(n["policy_id"]) for n in second) == ["click-100", "click-200"]
    assert all(n["delivered_at"] is None for n in second)
    assert "qualifies" in str(second[0]["text_en"])
