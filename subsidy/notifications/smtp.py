"""The e-mail sender: each notice through an SMTP relay (stdlib smtplib), exactly once.

Once: the outbox marks a notice delivered only after the sender returns, so a crash in between
hands the sender the same notice again. This sender appends the Message-ID of each message the
relay accepted to a journal (fsynced, before the next message; QINQING_MAIL_JOURNAL) and skips
the messages it holds, as the file sender skips the keys in its file. The Message-ID, not the
bare key: it also names the firm, policy and kind, so a database restored from a backup that
hands a notification's id to another notice never has that one skipped. What is left (a crash
between the relay's 250 and the journal's write) is resent with the same Message-ID, which the
recipient's system recognises as the same message.

A relay's reply decides a notice's outcome: 2xx delivered; 5xx refused for good (recorded as
undelivered, `refused`); 4xx, a dropped connection or none at all deferred (tried again later).
A relay that refuses the login or lacks STARTTLS is a setting to correct: `MailRelayError`,
nothing sent. Logs name the notice's key and the relay's reply with addresses hidden, never an
address, a firm or a password.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
from collections.abc import Sequence
from pathlib import Path

from subsidy.db import utcnow
from subsidy.notifications import mail
from subsidy.notifications.addresses import hidden
from subsidy.notifications.errors import MailRelayError
from subsidy.notifications.senders import DELIVERED, Deferred, Message, Outcome, Refused
from subsidy.settings import Settings

log = logging.getLogger(__name__)


class SmtpSender:
    needs_address = True

    def __init__(self, settings: Settings) -> None:
        self.host, self.port = settings.smtp_server
        self.tls = settings.smtp_tls
        self.user = settings.smtp_user
        self._password = settings.smtp_password
        self.timeout = settings.smtp_timeout_seconds
        self.ca_file = settings.smtp_ca_file
        self.sender = settings.mail_sender_address
        self.journal = settings.mail_journal_path
        self._sent = _ids_in(self.journal)

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"

    def send(self, messages: Sequence[Message]) -> dict[str, Outcome]:
        sent = {m.key for m in messages if self._id(m) in self._sent}
        outcomes: dict[str, Outcome] = dict.fromkeys(sent, DELIVERED)
        fresh = [m for m in messages if m.key not in sent]
        if not fresh:
            return outcomes
        try:
            with self._connect() as relay:
                for message in fresh:
                    outcomes[message.key] = self._one(relay, message)
        except (OSError, smtplib.SMTPException) as exc:
            # No connection, or it dropped: what was not answered is tried again later.
            reason = f"no answer from the relay {self.server}: {_said(exc)}"
            log.warning("notices deferred: %s", reason)
            for message in fresh:
                outcomes.setdefault(message.key, Deferred(reason))
        return outcomes

    def _one(self, relay: smtplib.SMTP, message: Message) -> Outcome:
        assert message.address is not None, "the outbox gives an e-mail sender addresses"
        try:
            relay.send_message(
                mail.compose(message, sender=self.sender),
                from_addr=self.sender,
                to_addrs=[message.address],
            )
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            return self._replied(message, code, reply)
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            return self._replied(message, exc.smtp_code, exc.smtp_error)
        self._remember(self._id(message))
        log.info("notice %s accepted by %s", message.key, self.server)
        return DELIVERED

    def _replied(self, message: Message, code: int, reply: bytes | str) -> Outcome:
        said = hidden(f"{code} {_text(reply)}")
        if 500 <= code < 600:
            log.warning("notice %s refused by %s: %s", message.key, self.server, said)
            return Refused(said)
        log.info("notice %s deferred by %s: %s", message.key, self.server, said)
        return Deferred(said)

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context(cafile=self.ca_file)
        relay: smtplib.SMTP
        if self.tls == "ssl":
            relay = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            relay = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            relay.ehlo()
            if self.tls == "starttls":
                if not relay.has_extn("starttls"):
                    raise MailRelayError(code="mail.relay.no_starttls", server=self.server)
                relay.starttls(context=context)
                relay.ehlo()
            if self.user:
                self._login(relay)
        except BaseException:
            relay.close()
            raise
        return relay

    def _login(self, relay: smtplib.SMTP) -> None:
        password = self._password.get_secret_value() if self._password else ""
        try:
            relay.login(self.user, password)
        except smtplib.SMTPAuthenticationError as exc:
            raise MailRelayError(
                code="mail.relay.authentication",
                server=self.server,
                user=self.user,
                reply=f"{exc.smtp_code} {_text(exc.smtp_error)}",
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise MailRelayError(
                server=self.server,
                detail="it offers no AUTH (over this connection) while QINQING_SMTP_USER is set",
            ) from None

    def _id(self, message: Message) -> str:
        return mail.message_id(message, self.sender)

    def _remember(self, message_id: str) -> None:
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        with self.journal.open("a", encoding="utf-8") as out:
            line = {"message_id": message_id, "at": utcnow().isoformat()}
            out.write(json.dumps(line) + "\n")
            out.flush()
            os.fsync(out.fileno())  # on disk before the next message, before the outbox commits
        self._sent.add(message_id)


def _ids_in(journal: Path) -> set[str]:
    if not journal.exists():
        return set()
    with journal.open(encoding="utf-8") as lines:
        return {json.loads(line)["message_id"] for line in lines if line.strip()}


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _said(exc: BaseException) -> str:
    return hidden(str(exc) or type(exc).__name__)
