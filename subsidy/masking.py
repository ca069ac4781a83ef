"""Personal data as API answers, logs and reports show it: enough to recognise, not to use."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PERSONAL_FIELDS = frozenset({"bank_account", "person_id", "phone"})


def mask(value: str | None, keep: int = 4) -> str | None:
    """All but the last `keep` characters hidden: '6222020000000001234' -> '***************1234'."""
    if value is None:
        return None
    shown = value[-keep:] if len(value) > keep else ""
    return "*" * (len(value) - len(shown)) + shown


def mask_personal(values: Mapping[str, Any]) -> dict[str, Any]:
    """A record with its personal fields masked (e.g. what an explanation's clause read)."""
    return {
        k: mask(str(v)) if k in PERSONAL_FIELDS and v is not None else v for k, v in values.items()
    }
