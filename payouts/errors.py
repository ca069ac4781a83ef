"""Why a payout operation was refused.

QinqingError
└── PayoutError
    ├── UnknownBatch         no such payout batch
"""

from __future__ import annotations

from subsidy.errors import QinqingError


class PayoutError(QinqingError):
    pass


class UnknownBatch(PayoutError):
    pass
