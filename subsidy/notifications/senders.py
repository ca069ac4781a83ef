"""Where notifications go: any `Sender`; by default a file of JSON lines, or e-mail
(`subsidy.notifications.smtp`).

A sender must be idempotent on `Message.key`: delivery marks a message sent only after the
sender returns, so a crash in between hands it the same message again. It answers each
message's `Outcome`: delivered, refused for good (recorded as undelivered) or deferred (tried
again later, with backoff).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from subsidy.i18n import LANGUAGES, Language


@dataclass(frozen=True)
class Message:
    key: str
    """Stable per notification: a sender delivers each key at most once."""
    uscc: str
    policy_id: str
    kind: str
    amount: Decimal
    text_zh: str
    text_en: str
    title_zh: str = ""
    title_en: str = ""
    firm: str | None = None
    """The firm's registered name, for the greeting (read with its address)."""
    address: str | None = None
    """The firm's checked e-mail address (for senders that need one)."""
    languages: tuple[Language, ...] = LANGUAGES
    """The order the languages are told in: Chinese first unless the firm's own is known."""

    def text(self, language: Language) -> str:
        return self.text_zh if language == "zh" else self.text_en

    def title(self, language: Language) -> str:
        return self.title_zh if language == "zh" else (self.title_en or self.title_zh)


@dataclass(frozen=True)
class Delivered:
    pass


@dataclass(frozen=True)
class Refused:
    """Refused for good (a relay's 5xx): sending it again would be refused again."""

    reason: str


@dataclass(frozen=True)
class Deferred:
    """Not delivered for now (a 4xx, no connection): try again later."""

    reason: str


Outcome = Delivered | Refused | Deferred
DELIVERED = Delivered()


class Sender(Protocol):
    needs_address: bool
    """Whether each message must carry the firm's address (`Message.address`)."""

    def send(self, messages: Sequence[Message]) -> dict[str, Outcome]:
        """Each message's outcome by its key."""
        ...


class FileSender:
    """Appends one JSON line per message to a file (a stand-in for SMS or the government app's
    inbox), skipping keys the file already holds."""

    needs_address = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sent = self._keys_in_file()

    def send(self, messages: Sequence[Message]) -> dict[str, Outcome]:
        outcomes: dict[str, Outcome] = {m.key: DELIVERED for m in messages}
        fresh = [m for m in messages if m.key not in self._sent]
        if not fresh:
            return outcomes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            for m in fresh:
                out.write(json.dumps(_line(m), ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())  # on disk before the outbox says delivered
        self._sent.update(m.key for m in fresh)
        return outcomes

    def _keys_in_file(self) -> set[str]:
        if not self.path.exists():
            return set()
        with self.path.open(encoding="utf-8") as lines:
            return {json.loads(line)["key"] for line in lines if line.strip()}


def _line(message: Message) -> dict[str, str]:
    return {
        "key": message.key,
        "uscc": message.uscc,
        "policy_id": message.policy_id,
        "kind": message.kind,
        "amount": str(message.amount),
        "text_zh": message.text_zh,
        "text_en": message.text_en,
    }
