"""The audit key: HMAC-SHA256 of chain entries and of checkpoints.

The key lives outside the database (`QINQING_AUDIT_KEY`), so whoever can only write the database
cannot compute the MAC of an entry they rewrite. PostgreSQL computes the MAC of the entry its
one-statement redemption appends with its built-in `sha256` (no pgcrypto needed): HMAC is
`H((K ^ opad) || H((K ^ ipad) || message))` (RFC 2104), so the statement is given the two padded
keys as parameters; they are as secret as the key and never stored.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import cached_property, lru_cache

from subsidy.settings import get_settings

_BLOCK = 64  # SHA-256's block size in bytes
_CHECKPOINT = b"qinqing-audit-checkpoint\n"
"""Checkpoint signatures are over this prefix, so no checkpoint signs what an entry's MAC does."""


@dataclass(frozen=True)
class AuditKey:
    secret: bytes
    development: bool

    @cached_property
    def id(self) -> str:
        """A public fingerprint of the key: which key a chain or checkpoint was written under."""
        return hmac.new(self.secret, b"qinqing-audit-key-id", hashlib.sha256).hexdigest()[:16]

    def mac(self, previous: str, body: str) -> str:
        """An entry's MAC: over the previous entry's MAC and the entry's canonical body."""
        return hmac.new(self.secret, (previous + body).encode(), hashlib.sha256).hexdigest()

    def sign(self, statement: str) -> str:
        """A checkpoint's signature."""
        return hmac.new(self.secret, _CHECKPOINT + statement.encode(), hashlib.sha256).hexdigest()

    @cached_property
    def pads(self) -> tuple[bytes, bytes]:
        """The inner and outer padded keys of RFC 2104, for SQL that hashes with sha256."""
        block = self.secret if len(self.secret) <= _BLOCK else hashlib.sha256(self.secret).digest()
        block = block.ljust(_BLOCK, b"\x00")
        return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


@lru_cache(maxsize=4)
def _key(secret: bytes, development: bool) -> AuditKey:
    return AuditKey(secret, development)


def current_key() -> AuditKey:
    """The key of the settings (the development key when QINQING_AUDIT_KEY is not set)."""
    settings = get_settings()
    return _key(settings.audit_key_bytes, settings.audit_key_is_development)
