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

CNAPS = {
    "ICBC": "102100099996",
    "ABC": "103100000026",
    "BOC": "104100000004",
    "CCB": "105100000017",
    "BOCOM": "301290000007",
    "CITIC": "302100011000",
    "CMB": "308584000013",
    "HZBANK": "313331000014",
    "ZJRCU": "402331000007",
    "PSBC": "403100000004",
}
"""Each bank's CNAPS2 participant code (支付系统行号, 12 digits: 3 for the bank's kind, 4 for
its city, 4 for the branch, a check digit) of its head office's clearing centre. The registry
knows the bank, not the branch: a CNAPS2 credit transfer to a head-office participant code is
routed by the bank to the account's branch. ISO 20022 files carry it as the creditor agent's
`ClrSysMmbId` (clearing system `CNAPS`)."""
CNAPS_CODE = re.compile(r"[0-9]{12}")


def cnaps_of(bank_code: str) -> str | None:
    """The CNAPS2 participant code a payment to `bank_code` is cleared through, if known."""
    return CNAPS.get(bank_code)


def bank_of_cnaps(code: str) -> str | None:
    """The bank whose head office has this CNAPS2 participant code (a file read back)."""
    return next((bank for bank, cnaps in CNAPS.items() if cnaps == code), None)


def bank_of(account: str) -> str:
    first = account[:1]
    return BANKS[int(first)] if first.isdigit() else "OTHER"


def usable(account: str | None) -> bool:
    """Whether a bank could take this account: a payout run leaves any other waiting for
    finance (`payouts.accounts`) rather than sending it to be refused."""
    return account is not None and ACCOUNT.fullmatch(account) is not None
