"""The sender the settings choose (QINQING_NOTIFY_SENDER), with what it needs to deliver."""

from __future__ import annotations

from dataclasses import dataclass

from subsidy.notifications.addresses import AddressBook
from subsidy.notifications.senders import FileSender, Sender
from subsidy.notifications.service import Retry
from subsidy.notifications.smtp import SmtpSender
from subsidy.settings import Settings


@dataclass(frozen=True)
class Delivering:
    sender: Sender
    addresses: AddressBook | None
    retry: Retry
    where: str
    """Where notices go, as the command says it (a file's path, smtp://host:port)."""


def delivering(settings: Settings) -> Delivering:
    retry = Retry(settings.mail_retry_seconds, settings.mail_max_attempts)
    if settings.notify_sender == "smtp":
        smtp = SmtpSender(settings)
        book = AddressBook(settings.mail_address_column, settings.mail_language_column)
        return Delivering(smtp, book, retry, f"smtp://{smtp.server} ({settings.smtp_tls})")
    path = settings.notifications_path
    return Delivering(FileSender(path), None, retry, str(path))
