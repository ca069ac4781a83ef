"""A notice as an e-mail: multipart/alternative, plain text then HTML, every language in the
message's order (Chinese first unless the firm's is known), the subject in both.

The words are `mail.po`'s (and the notice's own, `promises.po`); the HTML is a Jinja2 template
with autoescape, so a firm or policy name is always text (`<script>` arrives as `&lt;script&gt;`).
The Message-ID is a function of the notification alone: a resend after a crash carries the same
one, which the recipient's system (and anyone reading the relay's log) recognises.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from subsidy import i18n
from subsidy.db import utcnow
from subsidy.i18n import Language
from subsidy.notifications.senders import Message

_TEMPLATES = Environment(
    loader=PackageLoader("subsidy.notifications", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Section:
    """The notice in one language."""

    language: Language
    greeting: str
    body: str
    closing: str
    reference: str


def message_id(message: Message, sender: str) -> str:
    """`<notification-42.3f9c...@example.gov.cn>`: the key, a digest of what the notice is about
    (two databases may both hold a notification 42, never about the same firm, policy and kind)
    and the From address's domain."""
    about = f"{message.uscc}|{message.policy_id}|{message.kind}".encode()
    digest = hashlib.sha256(about).hexdigest()[:16]
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<{message.key}.{digest}@{domain}>"


def subject(message: Message) -> str:
    key = "mail.subject.granted" if message.kind == "granted" else "mail.subject.qualified"
    return " / ".join(
        i18n.text(language, key, title=message.title(language)) for language in message.languages
    )


def sections(message: Message) -> list[Section]:
    return [_section(message, language) for language in message.languages]


def _section(message: Message, language: Language) -> Section:
    if message.firm:
        greeting = i18n.text(language, "mail.greeting", firm=message.firm)
    else:
        greeting = i18n.text(language, "mail.greeting.anonymous")
    return Section(
        language=language,
        greeting=greeting,
        body=message.text(language),
        closing=i18n.text(language, "mail.closing"),
        reference=i18n.text(language, "mail.reference", reference=message.key),
    )


def compose(message: Message, *, sender: str) -> EmailMessage:
    """The e-mail of `message` from `sender` to `message.address`."""
    assert message.address is not None, "an e-mail notice has a checked address"
    parts = sections(message)
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.address
    mail["Subject"] = subject(message)
    mail["Message-ID"] = message_id(message, sender)
    mail["Date"] = format_datetime(utcnow())
    mail["Content-Language"] = ", ".join(message.languages)
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    mail.set_content(_TEMPLATES.get_template("notice.txt").render(sections=parts))
    html = _TEMPLATES.get_template("notice.html").render(
        sections=parts, subject=mail["Subject"], language=message.languages[0]
    )
    mail.add_alternative(html, subtype="html")
    return mail
