"""Which bank holds a payee's account.

The enterprise registry gives only the account number, and Chinese account numbers carry no
prefix common to every bank. Until the registry carries the bank, the platform routes by this
table on the account's first digit (the demo registry draws accounts uniformly, so firms spread
over all ten banks); batches are per bank because each bank is submitted to separately.
"""

from __future__ import annotations

import re

ACCOUNT = re.compile(r"[0-9]{8,34}")
"""A bank account number: digits only (Chinese accounts have 16 to 19); spaces are dropped."""

BANKS = ("ICBC", "CCB", "ABC", "BOC", "BOCOM", "CMB", "HZBANK", "ZJRCU", "PSBC", "CITIC")


def bank_of(account: str) -> str:
    first = account[:1]
    return BANKS[int(first)] if first.isdigit() else "OTHER"


def usable(account: str | None) -> bool:
    """Whether a bank could take this account: a payout run leaves any other waiting for
    finance (`payouts.accounts`) rather than sending it to be refused."""
    return account is not None and ACCOUNT.fullmatch(account) is not None
