"""The risk rule: which new redemptions wait for an officer's approval (held) and which are
approved at once. One pure rule for the one-click path and the automatic grants alike.

A redemption is held when its amount is above its policy's review threshold, or when its firm is
flagged for review (`firm_flag`); a flag holds new redemptions only, never one already made.
"""

from __future__ import annotations

from decimal import Decimal

from subsidy.redemption.models import RedemptionStatus


def initial_status(
    amount: Decimal, review_threshold: Decimal | None, *, flagged: bool
) -> RedemptionStatus:
    """`held` when a risk rule holds the redemption, else `approved`."""
    above = review_threshold is not None and amount > review_threshold
    return RedemptionStatus.HELD if above or flagged else RedemptionStatus.APPROVED
