"""Personal data as API answers, logs and reports show it: enough to recognise, not to use."""

from __future__ import annotations

PERSONAL_FIELDS = frozenset({"bank_account", "person_id", "phone"})


def mask(value: str | None, keep: int = 4) -> str | None:
    """All but the last `keep` characters hidden: '6222020000000001234' -> '***************1234'."""
    if value is None:
        return None
    shown = value[-keep:] if len(value) > keep else ""
    return "*" * (len(value) - len(shown)) + shown
