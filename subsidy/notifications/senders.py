"""Where notifications go: any `Sender`; by default a file of JSON lines.

A sender must be idempotent on `Message.key`: delivery marks a message sent only after the
sender returns, so a crash in between hands it the same message again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Protocol


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


class Sender(Protocol):
    def send(self, messages: Sequence[Message]) -> None: ...


class FileSender:
    """Appends one JSON line per message to a file (a stand-in for SMS or the government app's
    inbox), skipping keys the file already holds."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sent = self._keys_in_file()

    def send(self, messages: Sequence[Message]) -> None:
        fresh = [m for m in messages if m.key not in self._sent]
        if not fresh:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            for m in fresh:
                out.write(json.dumps(_line(m), ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())  # on disk before the outbox says delivered
        self._sent.update(m.key for m in fresh)

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
