"""E-mail notices against a real SMTP relay on loopback (aiosmtpd): each firm's address from a
declared registry column, plain / STARTTLS / SSL with AUTH, a 550 recorded as refused, a 451
retried then delivered, no address and invalid addresses recorded as undelivered, exactly once
across reruns and a crash, names escaped in the HTML, both languages in every message."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlmodel import Session, col
from typer.testing import CliRunner

from subsidy import db
from subsidy.app import create_app
from subsidy.audit.models import AuditEntry
from subsidy.auth import Role, mint
from subsidy.cli import app
from subsidy.declare import service as declare_service
from subsidy.errors import ConfigurationError
from subsidy.notifications import service
from subsidy.notifications.addresses import AddressBook, InvalidAddress, checked
from subsidy.notifications.errors import MailRelayError, NotUndelivered
from subsidy.notifications.models import Notification, Undelivered
from subsidy.notifications.senders import DELIVERED, Message
from subsidy.notifications.service import Delivery, Retry
from subsidy.notifications.smtp import SmtpSender
from subsidy.registry import service as registry_service
from subsidy.registry.models import Enterprise
from subsidy.settings import Settings, get_settings
from tests.redemption.helpers import flat, load_registry, publish
from tests.subsidy.smtp_relay import PASSWORD, USER, Authority, Relay, relay, throwaway_authority

runner = CliRunner()

CONTACTS = """\
sources:
  - name: contacts
    department: Market Supervision Bureau
    key: uscc
    columns:
      email:
        type: text
        nullable: true
        label: {zh: 联系邮箱, en: Contact e-mail}
      language:
        type: text
        nullable: true
        label: {zh: 语言, en: Language}
"""
SCRIPTED = "<script>alert('x')</script> & Sons 有限公司"


def qinqing(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


class Firms:
    """The active firms, each given a role by its place: refused, busy (451 once), without an
    address, with an invalid one, with a name that is markup, with an IDN domain, plain."""

    def __init__(self, usccs: list[str]) -> None:
        self.refused, self.busy, self.missing, self.invalid, self.scripted, self.idn = usccs[:6]
        self.plain = usccs[6:]
        self.all = usccs

    def addresses(self) -> dict[str, str]:
        given = {
            self.refused: "refuse@example.cn",
            self.busy: "busy@example.cn",
            self.invalid: "Zhang San <zhang@example.cn>",
            self.scripted: "scripted@example.cn",
            self.idn: "info@企业.中国",
        }
        given.update({u: f"firm{i}@example.cn" for i, u in enumerate(self.plain)})
        return given

    def csv(self, addresses: dict[str, str] | None = None) -> str:
        """The contacts source's file: the first plain firm reads English."""
        rows = (
            f"{u},{a},{'en' if u == self.plain[0] else ''}\n"
            for u, a in (addresses or self.addresses()).items()
        )
        return "uscc,email,language\n" + "".join(rows)


@pytest.fixture
def firms(app_env: Engine, data_dir: Path, tmp_path: Path) -> Firms:
    """Active firms with the contacts source declared and imported (one firm left out), a
    one-click policy published and matched: one "you qualify" notice per firm, pending."""
    usccs = sorted(load_registry(app_env, data_dir, tmp_path / "registry", 16))
    assert len(usccs) >= 8
    chosen = Firms(usccs)
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(chosen.csv(), encoding="utf-8")
    with db.session_scope(app_env) as session:
        declare_service.declare(session, CONTACTS, "contacts.yaml", by="officer:li.wei")
    with db.session_scope(app_env) as session:
        registry_service.import_source(session, "contacts", contacts, data_dir=data_dir)
        session.execute(
            update(Enterprise).where(col(Enterprise.uscc) == chosen.scripted).values(name=SCRIPTED)
        )
    publish(app_env, flat("click-100", 100, 1_000_000))
    qinqing("match")
    return chosen


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return throwaway_authority(tmp_path_factory.mktemp("ca"))


def settings_for(
    server: Relay, tmp_path: Path, authority: Authority | None = None, **more: Any
) -> Settings:
    chosen: dict[str, Any] = {
        "notify_sender": "smtp",
        "smtp_host": server.host,
        "smtp_port": server.port,
        "smtp_tls": "none",
        "smtp_ca_file": authority.ca_file if authority else None,
        "smtp_timeout_seconds": 10,
        "mail_from": "notices@qinqing.example.cn",
        "mail_address_column": "email",
        "mail_language_column": "language",
        "mail_journal": tmp_path / "mail-sent.jsonl",
    }
    return Settings(**(chosen | more))


def deliver(engine: Engine, settings: Settings, now: dt.datetime | None = None) -> Delivery:
    with db.session_scope(engine) as session:
        return service.deliver(
            session,
            SmtpSender(settings),
            addresses=AddressBook(settings.mail_address_column, settings.mail_language_column),
            retry=Retry(60, 3),
            now=now,
        )


def rows(engine: Engine) -> dict[str, Notification]:
    with Session(engine) as session:
        return {n.uscc: n for n in session.execute(select(Notification)).scalars()}


def parts(message: EmailMessage) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert isinstance(text, EmailMessage)
    assert isinstance(html, EmailMessage)
    return text.get_content(), html.get_content()


def test_each_firm_is_told_once_through_a_plain_relay(
    app_env: Engine, firms: Firms, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with relay() as server:
        settings = settings_for(server, tmp_path)
        first = deliver(app_env, settings)
        assert first == Delivery(delivered=len(firms.all) - 4, undelivered=3, deferred=1)

        state = rows(app_env)
        assert state[firms.refused].undelivered == Undelivered.REFUSED
        assert "550 5.1.1" in (state[firms.refused].undelivered_reason or "")
        assert "refuse@" not in (state[firms.refused].undelivered_reason or "")  # hidden
        assert state[firms.missing].undelivered == Undelivered.NO_ADDRESS
        assert state[firms.invalid].undelivered == Undelivered.INVALID_ADDRESS
        assert "display name" in (state[firms.invalid].undelivered_reason or "")
        busy = state[firms.busy]
        assert busy.undelivered is None
        assert busy.delivered_at is None
        assert busy.attempts == 1
        assert busy.next_attempt_at is not None

        # Before the backoff has passed nothing is tried; after it, the busy firm is told.
        assert deliver(app_env, settings) == Delivery()
        later = db.utcnow() + dt.timedelta(minutes=2)
        assert deliver(app_env, settings, now=later) == Delivery(delivered=1)
        assert rows(app_env)[firms.busy].delivered_at is not None
        # A rerun sends nothing: every notice is delivered or recorded as undelivered.
        assert deliver(app_env, settings, now=later + dt.timedelta(hours=2)) == Delivery()

        told = server.collector.recipients()
        expected = {
            a for u, a in firms.addresses().items() if u not in (firms.refused, firms.invalid)
        }
        expected = {checked(a) for a in expected}
        assert sorted(told) == sorted(expected)  # each once
        assert "info@xn--vhquv.xn--fiqs8s" in told  # the IDN domain as relays read it
        ids = [m["Message-ID"] for m in server.collector.messages()]
        assert len(set(ids)) == len(ids)
        ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("subsidy"))
        assert "notification-" in ours  # our log names notices by key, never by firm (the
        for personal in (*firms.addresses().values(), SCRIPTED, "example.cn"):  # relay's may)
            assert personal not in ours
        assert all(
            re.fullmatch(r"<notification-\d+\.[0-9a-f]{16}@qinqing\.example\.cn>", i) for i in ids
        )


def test_a_notice_is_multipart_in_both_languages_with_names_as_text(
    app_env: Engine, firms: Firms, tmp_path: Path
) -> None:
    with relay() as server:
        deliver(app_env, settings_for(server, tmp_path))
    by_address = {m["To"]: m for m in server.collector.messages()}
    scripted = by_address["scripted@example.cn"]
    assert "政策兑现通知" in scripted["Subject"]
    assert "Subsidy notice" in scripted["Subject"]
    assert scripted["From"] == "notices@qinqing.example.cn"
    text, html = parts(scripted)
    assert text.index("100.00 元") < text.index("qualifies")  # Chinese first, then English
    assert SCRIPTED in text  # the plain part says the name as it is
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Sons" in html
    assert 'lang="zh"' in html
    assert 'lang="en"' in html
    assert "一键兑付" in html
    assert "Redeem" in html


def told_once(firms: Firms) -> list[str]:
    """Who the relay must have accepted a notice for: all but the refused, the one without an
    address and the invalid one (the busy one after its retry)."""
    left_out = (firms.refused, firms.missing, firms.invalid)
    return sorted(checked(a) for u, a in firms.addresses().items() if u not in left_out)


def crash_before_commit(engine: Engine, settings: Settings, limit: int) -> None:
    def dies() -> None:
        with db.session_scope(engine) as session:
            sender = SmtpSender(settings)
            service.deliver(session, sender, addresses=AddressBook("email"), limit=limit)
            raise RuntimeError("the process dies before the commit")

    with pytest.raises(RuntimeError):
        dies()


def test_a_crash_after_the_relay_accepted_sends_nothing_twice(
    app_env: Engine, firms: Firms, tmp_path: Path
) -> None:
    with relay() as server:
        settings = settings_for(server, tmp_path)
        crash_before_commit(app_env, settings, limit=len(firms.all))
        accepted = len(server.collector.received)
        assert accepted == len(firms.all) - 4  # the relay has them; the outbox rolled back
        assert all(n.delivered_at is None and n.undelivered is None for n in rows(app_env).values())

        # A restarted sender reads the journal: those are marked delivered, not sent again.
        again = deliver(app_env, settings, now=db.utcnow() + dt.timedelta(hours=2))
        assert again.delivered == len(firms.all) - 3  # the busy one is accepted this time
        assert len(server.collector.received) == accepted + 1
        assert deliver(app_env, settings, now=db.utcnow() + dt.timedelta(hours=4)) == Delivery()
        assert sorted(server.collector.recipients()) == told_once(firms)


def test_without_the_journal_a_resend_carries_the_same_message_id(
    app_env: Engine, firms: Firms, tmp_path: Path
) -> None:
    with relay() as server:
        settings = settings_for(server, tmp_path)
        crash_before_commit(app_env, settings, limit=len(firms.all))
        first = [m["Message-ID"] for m in server.collector.messages()]
        settings.mail_journal_path.unlink()  # the journal lost with the disk
        deliver(app_env, settings)
        ids = [m["Message-ID"] for m in server.collector.messages()]
    resent = ids[len(first) :]
    assert set(first) <= set(resent)  # the recipient's system recognises each resend
    assert len(resent) == len(first) + 1  # and the busy firm's, deferred the first time


def test_starttls_with_auth_against_a_private_ca(
    app_env: Engine, firms: Firms, tmp_path: Path, authority: Authority
) -> None:
    with relay("starttls", authority=authority, auth=True) as server:
        settings = settings_for(
            server, tmp_path, authority, smtp_tls="starttls", smtp_user=USER, smtp_password=PASSWORD
        )
        done = deliver(app_env, settings)
    assert done.delivered == len(firms.all) - 4
    assert server.collector.logins == [USER]
    assert len(server.collector.received) == done.delivered


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # see smtp_relay
def test_implicit_tls_with_auth(
    app_env: Engine, firms: Firms, tmp_path: Path, authority: Authority
) -> None:
    with relay("ssl", authority=authority, auth=True) as server:
        settings = settings_for(
            server, tmp_path, authority, smtp_tls="ssl", smtp_user=USER, smtp_password=PASSWORD
        )
        done = deliver(app_env, settings)
    assert done.delivered == len(firms.all) - 4
    assert server.collector.logins == [USER]


def test_a_relay_certificate_no_trusted_ca_signed_is_not_trusted(
    app_env: Engine, firms: Firms, tmp_path: Path, authority: Authority
) -> None:
    with relay("ssl", authority=authority) as server:
        done = deliver(app_env, settings_for(server, tmp_path, None, smtp_tls="ssl"))
    assert done == Delivery(undelivered=2, deferred=len(firms.all) - 2)  # no address, invalid
    assert not server.collector.received
    reasons = {n.undelivered_reason for n in rows(app_env).values() if n.attempts}
    assert any("CERTIFICATE_VERIFY_FAILED" in (r or "") for r in reasons), reasons


def test_a_refused_login_stops_the_run_and_records_nothing(
    app_env: Engine, firms: Firms, tmp_path: Path, authority: Authority
) -> None:
    with relay("starttls", authority=authority, auth=True) as server:
        settings = settings_for(
            server, tmp_path, authority, smtp_tls="starttls", smtp_user=USER, smtp_password="wrong"
        )
        with pytest.raises(MailRelayError) as refused:
            deliver(app_env, settings)
    assert refused.value.code == "mail.relay.authentication"
    assert "wrong" not in str(refused.value)
    assert "QINQING_SMTP_PASSWORD" in str(refused.value)
    assert all(n.delivered_at is None and n.undelivered is None for n in rows(app_env).values())


def test_starttls_asked_of_a_relay_without_it_is_refused(
    app_env: Engine, firms: Firms, tmp_path: Path
) -> None:
    with relay() as server, pytest.raises(MailRelayError) as refused:
        deliver(app_env, settings_for(server, tmp_path, smtp_tls="starttls"))
    assert refused.value.code == "mail.relay.no_starttls"
    assert not server.collector.received


def test_an_unreachable_relay_is_retried_then_recorded_as_unreachable(
    app_env: Engine, firms: Firms, tmp_path: Path
) -> None:
    with relay() as server:
        settings = settings_for(server, tmp_path)
    # The relay is stopped: nobody answers on its port.
    moment = db.utcnow()
    for attempt in range(3):
        done = deliver(app_env, settings, now=moment)
        moment += dt.timedelta(hours=2)
        # First the firms without a usable address; on the last attempt every other one.
        assert done.undelivered == [2, 0, len(firms.all) - 2][attempt]
    state = rows(app_env)
    assert state[firms.plain[0]].undelivered == Undelivered.UNREACHABLE
    assert "3 attempts failed" in (state[firms.plain[0]].undelivered_reason or "")


@pytest.fixture
def smtp_env(app_env: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Relay]:
    with relay() as server:
        for name, value in {
            "NOTIFY_SENDER": "smtp",
            "SMTP_HOST": server.host,
            "SMTP_PORT": str(server.port),
            "SMTP_TLS": "none",
            "MAIL_FROM": "notices@qinqing.example.cn",
            "MAIL_ADDRESS_COLUMN": "email",
        }.items():
            monkeypatch.setenv(f"QINQING_{name}", value)
        get_settings.cache_clear()
        yield server
        get_settings.cache_clear()


def test_the_command_delivers_lists_the_undelivered_and_requeues_one(
    smtp_env: Relay, app_env: Engine, firms: Firms, data_dir: Path
) -> None:
    output = qinqing("notify")
    assert f"delivered {len(firms.all) - 4} notifications to smtp://" in output
    assert "3 undelivered" in output
    assert "1 deferred" in output
    listed = qinqing("notify", "--undelivered")
    assert "undelivered notices: 3" in listed
    for why in ("no_address", "invalid_address", "refused"):
        assert why in listed
    assert "@example.cn" not in listed  # no address on the screen

    missing = rows(app_env)[firms.missing]
    corrected = data_dir.parent / "corrected.csv"
    rows_now = {**firms.addresses(), firms.missing: "found@example.cn"}
    corrected.write_text(firms.csv(rows_now), encoding="utf-8")
    qinqing("import", "source", "contacts", str(corrected))
    said = qinqing("notify", "--requeue", str(missing.id), "--by", "li.wei")
    assert f"notification {missing.id} is pending again" in said
    assert "delivered 1 notifications" in qinqing("notify")
    assert "found@example.cn" in smtp_env.collector.recipients()
    with Session(app_env) as session:
        entry = session.execute(
            select(AuditEntry).where(col(AuditEntry.action) == "notification.requeue")
        ).scalar_one()
    assert entry.actor == "officer:li.wei"
    assert entry.subject == f"notification:{missing.id}"

    again = runner.invoke(app, ["notify", "--requeue", str(missing.id), "--by", "li.wei"])
    assert again.exit_code == 1
    assert "was delivered" in again.output
    nobody = runner.invoke(app, ["notify", "--requeue", "999999", "--by", "li.wei"])
    assert nobody.exit_code == 1
    assert "no notification has id 999999" in nobody.output


def test_requeueing_a_pending_notice_is_refused(app_env: Engine, firms: Firms) -> None:
    pending = rows(app_env)[firms.plain[0]]
    assert pending.id is not None
    with db.session_scope(app_env) as session, pytest.raises(NotUndelivered) as refused:
        service.requeue(session, pending.id, by="officer:li.wei")
    assert refused.value.code == "notification.not_undelivered"


def test_officers_and_auditors_read_the_undelivered_notices_paged(
    app_env: Engine, firms: Firms, tmp_path: Path
) -> None:
    with relay() as server:
        deliver(app_env, settings_for(server, tmp_path))
    with TestClient(create_app()) as client:

        def get(role: Role, **params: Any) -> Any:
            uscc = firms.missing if role is Role.ENTERPRISE else None
            token = mint(get_settings(), role, subject="li.wei", uscc=uscc)
            return client.get(
                "/api/v1/notifications/undelivered",
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            )

        for role in (Role.OFFICER, Role.AUDITOR):
            answer = get(role)
            assert answer.status_code == 200, answer.text
            assert answer.headers["X-Total-Count"] == "3"
            assert {n["undelivered"] for n in answer.json()} == {
                "no_address", "invalid_address", "refused"
            }  # fmt: skip
        second = get(Role.OFFICER, page=2, size=2).json()
        assert len(second) == 1
        assert get(Role.ENTERPRISE).status_code == 403
        assert get(Role.FINANCE).status_code == 403


def test_the_file_sender_stays_the_default(app_env: Engine, firms: Firms) -> None:
    assert get_settings().notify_sender == "file"
    assert f"delivered {len(firms.all)} notifications to" in qinqing("notify")
    assert get_settings().notifications_path.exists()


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Zhang <z@example.cn>", "display name"),
        ("a@example.cn, b@example.cn", "more than one"),
        ("张三@example.cn", "plain ASCII"),
        ("a@localhost", "with a dot"),
        ("a@example..cn", "host name"),
        ("a@-bad-.cn", "host name"),
        ("example.cn", "no '@'"),
        ("a@127.0.0.1", "a number"),
        ("x" * 65 + "@example.cn", "plain ASCII"),
    ],
)
def test_invalid_addresses_say_why(text: str, why: str) -> None:
    with pytest.raises(InvalidAddress, match=re.escape(why)):
        checked(text)


def test_valid_addresses_are_kept_with_an_ascii_domain() -> None:
    assert checked("  Li.Wei+notice@Example.CN ") == "Li.Wei+notice@example.cn"
    assert checked("info@企业.中国") == "info@xn--vhquv.xn--fiqs8s"


def test_an_address_column_that_is_not_declared_text_is_a_setting_to_correct(
    app_env: Engine, firms: Firms, tmp_path: Path
) -> None:
    with relay() as server:
        settings = settings_for(server, tmp_path, mail_address_column="mail")
        with pytest.raises(ConfigurationError, match="QINQING_MAIL_ADDRESS_COLUMN"):
            deliver(app_env, settings)


@pytest.mark.parametrize(
    ("missing", "variable"),
    [
        ({"smtp_host": ""}, "QINQING_SMTP_HOST"),
        ({"mail_from": ""}, "QINQING_MAIL_FROM"),
        ({"mail_address_column": ""}, "QINQING_MAIL_ADDRESS_COLUMN"),
        ({"smtp_tls": "none", "smtp_user": "u"}, "QINQING_SMTP_TLS"),
    ],
)
def test_an_smtp_sender_outside_development_needs_its_settings(
    missing: dict[str, str], variable: str
) -> None:
    complete = {
        "environment": "test",
        "secret_key": "s" * 40,
        "notify_sender": "smtp",
        "smtp_host": "relay.example.cn",
        "mail_from": "notices@example.cn",
        "mail_address_column": "email",
    }
    Settings(**complete)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=variable):
        Settings(**(complete | missing))  # type: ignore[arg-type]
    assert Settings(notify_sender="smtp").smtp_server == ("localhost", 587)  # development


def test_the_journal_skips_a_message_not_a_reused_id(tmp_path: Path) -> None:
    """A database restored from a backup may give a notification's id to another notice: the
    journal holds Message-IDs (key, firm, policy, kind), so that one is still sent."""
    sent = Message(
        key="notification-1", uscc="91330100000000001X", policy_id="click-100",
        kind="qualified", amount=Decimal("100.00"), text_zh="符合", text_en="qualifies",
        title_zh="补贴", title_en="Subsidy", address="firm@example.cn",
    )  # fmt: skip
    reused = replace(sent, uscc="91330100000000002X", address="other@example.cn")
    with relay() as server:
        settings = settings_for(server, tmp_path)
        assert SmtpSender(settings).send([sent]) == {sent.key: DELIVERED}
        restarted = SmtpSender(settings)  # reads the journal
        assert restarted.send([sent]) == {sent.key: DELIVERED}
        assert server.collector.recipients() == ["firm@example.cn"]  # skipped, not resent
        assert restarted.send([reused]) == {reused.key: DELIVERED}
        assert server.collector.recipients() == ["firm@example.cn", "other@example.cn"]


@pytest.mark.parametrize(
    ("setting", "variable"),
    [
        ({"smtp_ca_file": "/nonexistent/ca.pem"}, "QINQING_SMTP_CA_FILE"),
        ({"mail_from": "not an address"}, "QINQING_MAIL_FROM"),
        ({"smtp_password": "secret-password"}, "QINQING_SMTP_USER"),
    ],
)
def test_smtp_settings_that_cannot_be_used_name_their_variable(
    setting: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigurationError, match=variable) as refused:
        Settings(**setting)  # type: ignore[arg-type]
    assert "secret-password" not in str(refused.value)
