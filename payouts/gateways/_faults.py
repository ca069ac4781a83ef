"""What goes wrong at the simulated bank, and when: pure functions of a seed and what was asked.

Every decision is a hash of (seed, what is decided, the key or the call), never a random generator
whose state depends on what ran before; so a decision is the same in every process, whatever
else ran, and a test can reproduce any run from its seed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

_UNIT = float(2**64)

# ISO 20022 reason codes, as Chinese banks report them for cross-bank credit transfers
REJECT_REASONS = (
    ("AC04", "account closed"),
    ("BE01", "name does not match account"),
    ("AC01", "invalid account number"),
    ("AC06", "account blocked"),
)
CLOSED_ACCOUNT = REJECT_REASONS[0]
RETURN_REASONS = (
    ("AC04", "account closed after crediting"),
    ("AC06", "account blocked by the payee's bank"),
    ("MS03", "returned by the payee's bank, reason not given"),
)


@dataclass(frozen=True)
class Faults:
    """How often the simulated bank misbehaves, and the seed that decides when.

    The defaults are a bad but ordinary day at a real payment gateway: 2% of calls refused as
    busy (`transient_rate`), 1% of calls processed but their answer lost (`lost_answer_rate`),
    0.5% of payees refused for good (`reject_rate`: closed account, name mismatch, invalid
    account), 0.3% of payments coming back after crediting (`return_rate`), `return_delay_s`
    seconds after the payment (0: from the bank's next call on). `latency_ms` is the range each
    call sleeps, (0, 0) by default so that tests and benchmarks measure our code.
    """

    seed: int = 0
    latency_ms: tuple[int, int] = (0, 0)
    transient_rate: float = 0.02
    reject_rate: float = 0.005
    lost_answer_rate: float = 0.01
    return_rate: float = 0.003
    return_delay_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("transient_rate", "reject_rate", "lost_answer_rate", "return_rate"):
            rate = getattr(self, name)
            if not 0 <= rate <= 1:
                raise ValueError(f"{name} must be between 0 and 1, not {rate}")
        low, high = self.latency_ms
        if not 0 <= low <= high:
            raise ValueError(
                f"latency_ms must be (low, high) with 0 <= low <= high, not {low, high}"
            )
        if self.return_delay_s < 0:
            raise ValueError(f"return_delay_s must not be negative, not {self.return_delay_s}")

    @classmethod
    def none(cls, seed: int = 0) -> Faults:
        """A bank that never fails, refuses or returns anything."""
        return cls(seed, (0, 0), 0.0, 0.0, 0.0, 0.0)


class KeyFate(NamedTuple):  # a tuple: one is made per item, in the hot path
    """What happens to one idempotency key the first time the bank executes it."""

    rejection: tuple[str, str] | None  # (reason code, reason) when refused for good
    return_reason: tuple[str, str] | None  # (reason code, reason) when it will come back
    bank_reference: str


@dataclass(frozen=True)
class CallFate:
    """What happens to one call: the n-th call the bank has seen with exactly these keys."""

    transient: bool
    answer_lost: bool


def key_fate(faults: Faults, key: str) -> KeyFate:
    digest = _digest(faults.seed, "key", key)
    rejected = _unit(digest, 0) < faults.reject_rate
    returned = not rejected and _unit(digest, 8) < faults.return_rate
    pick = digest[16]
    return KeyFate(
        rejection=REJECT_REASONS[pick % len(REJECT_REASONS)] if rejected else None,
        return_reason=RETURN_REASONS[pick % len(RETURN_REASONS)] if returned else None,
        bank_reference="SIM" + digest[20:32].hex().upper(),
    )


def call_fate(faults: Faults, kind: str, fingerprint: str, call_number: int) -> CallFate:
    digest = _digest(faults.seed, kind, f"{fingerprint}\x1f{call_number}")
    transient = _unit(digest, 0) < faults.transient_rate
    lost = kind == "submit" and _unit(digest, 8) < faults.lost_answer_rate
    return CallFate(transient=transient, answer_lost=not transient and lost)


def latency_s(faults: Faults, fingerprint: str) -> float:
    low, high = faults.latency_ms
    if high == 0:
        return 0.0
    return (low + (high - low) * _unit(_digest(faults.seed, "latency", fingerprint), 0)) / 1000


def fingerprint(keys: Sequence[str]) -> str:
    """One name for a call's keys in their order: repeating a call repeats its fingerprint."""
    return hashlib.blake2b("\n".join(keys).encode(), digest_size=16).hexdigest()


def _digest(seed: int, label: str, text: str) -> bytes:
    return hashlib.blake2b(f"{seed}\x1f{label}\x1f{text}".encode(), digest_size=32).digest()


def _unit(digest: bytes, offset: int) -> float:
    """Eight bytes of a digest as a number in [0, 1): a rate r is hit with probability r."""
    return int.from_bytes(digest[offset : offset + 8], "big") / _UNIT
