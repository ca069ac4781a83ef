"""Prove that the ledger and the operational tables add up, and name every place they do not.

An account's balance is what entered it minus what left it, over the ledger rows of one policy
(or, for `receivable`, of one firm). The invariants (see `subsidy.ledger.models`):

    per policy P   policy_budget.reserved  == reserved(P) + payable(P) + paid(P)
                   reserved(P)             == amounts of P's held redemptions
                   payable(P)              == amounts of P's approved, paying and returned ones
                   paid(P)                 == amounts of P's paid payout items, reversed
                                              redemptions left out (clawed back)
                   policy_budget.reserved  <= policy_budget.budget
    per firm F     receivable(F)           == amounts of F's redemptions reversed after being paid
                                              - offsets settled by F's paid payout items
    per row        a known account on each side, two different accounts, an amount above zero

and, to point at the rows behind a policy's imbalance, per redemption: the money in its
reserved / payable / paid accounts is where its status says it is.

Each is a grouped query (one pass over a table), compared in Python per policy or firm; nothing
is read row by row. "Expected" is what the operational tables say, "found" what the ledger holds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal, or_, select, type_coerce
from sqlmodel import Session, col

from payouts.models import ItemState, PayoutItem
from subsidy.db import Money
from subsidy.ledger.models import Account, LedgerEntry
from subsidy.redemption.models import PolicyBudget, Redemption, RedemptionStatus

ZERO = Decimal("0.00")
SHOWN_REDEMPTIONS = 100
"""At most this many redemptions are named; the count of the others is given."""

_PAYABLE = (RedemptionStatus.APPROVED, RedemptionStatus.PAYING, RedemptionStatus.RETURNED)
_BALANCED = (Account.RESERVED, Account.PAYABLE, Account.PAID)


@dataclass(frozen=True)
class Imbalance:
    scope: str
    """`policy`, `firm`, `redemption` or `ledger_entry`."""
    key: str
    """The policy id, the USCC, the redemption id or the ledger entry id."""
    account: str
    """What disagrees: a ledger account, `policy_budget.reserved`, or what is wrong with a row."""
    expected: Decimal
    found: Decimal
    rule: str
    """The invariant broken, in words."""

    @property
    def difference(self) -> Decimal:
        return self.found - self.expected

    def __str__(self) -> str:
        return (
            f"{self.scope} {self.key}: {self.account}: expected {self.expected:.2f} "
            f"({self.rule}), found {self.found:.2f} (difference {self.difference:+.2f})"
        )


@dataclass(frozen=True)
class LedgerReport:
    entries: int
    policies: int
    firms: int
    """Firms with a receivable, expected or found."""
    imbalances: list[Imbalance] = field(default_factory=list)
    unshown_redemptions: int = 0
    """Redemptions out of place beyond the SHOWN_REDEMPTIONS named in `imbalances`."""

    @property
    def balanced(self) -> bool:
        return not self.imbalances


def check(session: Session) -> LedgerReport:
    entries, ledger = _policy_balances(session)
    budgets = _budgets(session)
    owed = _redemption_totals(session)
    paid = _paid_items(session)
    found: list[Imbalance] = []
    policies = sorted(set(ledger) | set(budgets) | set(owed) | set(paid))
    for policy in policies:
        found += _policy_imbalances(
            policy,
            ledger.get(policy, {}),
            budgets.get(policy),
            owed.get(policy, (ZERO, ZERO)),
            paid.get(policy, ZERO),
        )
    receivable_found = _receivables(session)
    receivable_expected = _receivables_expected(session)
    firms = sorted(set(receivable_found) | set(receivable_expected))
    for uscc in firms:
        expected = receivable_expected.get(uscc, ZERO)
        held = receivable_found.get(uscc, ZERO)
        if expected != held:
            rule = "clawed back after payment minus offsets settled"
            found.append(Imbalance("firm", uscc, Account.RECEIVABLE, expected, held, rule))
    found += _bad_entries(session)
    misplaced, unshown = _misplaced_redemptions(session)
    return LedgerReport(entries, len(policies), len(firms), found + misplaced, unshown)


# --- the ledger --------------------------------------------------------------------------------


def _money(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(value)


def _sum_where(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    """SUM(amount) over the rows meeting `condition` (NULL when none: read through _money)."""
    return func.sum(case((condition, col(LedgerEntry.amount)), else_=None))


def _policy_balances(session: Session) -> tuple[int, dict[str, dict[Account, Decimal]]]:
    """(ledger rows, balance of each account per policy), in one pass over the ledger."""
    source, target = col(LedgerEntry.source), col(LedgerEntry.target)
    sums = [
        expr
        for account in _BALANCED
        for expr in (_sum_where(target == account), _sum_where(source == account))
    ]
    query = select(col(LedgerEntry.policy_id), func.count(), *sums).group_by(
        col(LedgerEntry.policy_id)
    )
    total, balances = 0, {}
    for policy, count, *values in session.execute(query):
        total += int(count)
        balances[str(policy)] = {
            account: _money(values[2 * i]) - _money(values[2 * i + 1])
            for i, account in enumerate(_BALANCED)
        }
    return total, balances


def _receivables(session: Session) -> dict[str, Decimal]:
    source, target = col(LedgerEntry.source), col(LedgerEntry.target)
    query = (
        select(
            col(LedgerEntry.uscc),
            _sum_where(target == Account.RECEIVABLE),
            _sum_where(source == Account.RECEIVABLE),
        )
        .where(or_(source == Account.RECEIVABLE, target == Account.RECEIVABLE))
        .group_by(col(LedgerEntry.uscc))
    )
    return {str(uscc): _money(i) - _money(o) for uscc, i, o in session.execute(query)}


def _bad_entries(session: Session) -> list[Imbalance]:
    """Rows no balance above can account for: an unknown account, money moving nowhere, an
    amount that is not positive."""
    known = [str(a) for a in Account]
    source, target, amount = (
        col(LedgerEntry.source),
        col(LedgerEntry.target),
        col(LedgerEntry.amount),
    )
    query = (
        select(col(LedgerEntry.id), source, target, amount)
        .where(
            or_(
                source.not_in(known),
                target.not_in(known),
                source == target,
                amount <= ZERO,
            )
        )
        .order_by(col(LedgerEntry.id))
        .limit(SHOWN_REDEMPTIONS)
    )
    found = []
    for entry_id, src, tgt, value in session.execute(query):
        what = f"{src} -> {tgt}"
        if src not in known or tgt not in known:
            rule = "both accounts must be ledger accounts"
        elif src == tgt:
            rule = "money must move between two accounts"
        else:
            rule = "a movement is more than zero"
        found.append(Imbalance("ledger_entry", str(entry_id), what, ZERO, _money(value), rule))
    return found


# --- the operational tables ----------------------------------------------------------------------


def _budgets(session: Session) -> dict[str, tuple[Decimal, Decimal]]:
    query = select(
        col(PolicyBudget.policy_id), col(PolicyBudget.budget), col(PolicyBudget.reserved)
    )
    return {str(p): (_money(b), _money(r)) for p, b, r in session.execute(query)}


def _redemption_totals(session: Session) -> dict[str, tuple[Decimal, Decimal]]:
    """(held, payable) amounts per policy, in one pass over the redemptions."""
    status, amount = col(Redemption.status), col(Redemption.amount)
    query = select(
        col(Redemption.policy_id),
        func.sum(case((status == RedemptionStatus.HELD, amount), else_=None)),
        func.sum(case((status.in_(_PAYABLE), amount), else_=None)),
    ).group_by(col(Redemption.policy_id))
    return {str(p): (_money(h), _money(a)) for p, h, a in session.execute(query)}


def _paid_items(session: Session) -> dict[str, Decimal]:
    query = (
        select(col(Redemption.policy_id), func.sum(col(PayoutItem.amount)))
        .join(Redemption, col(Redemption.id) == col(PayoutItem.redemption_id))
        .where(
            col(PayoutItem.state) == ItemState.PAID,
            col(Redemption.status) != RedemptionStatus.REVERSED,
        )
        .group_by(col(Redemption.policy_id))
    )
    return {str(p): _money(total) for p, total in session.execute(query)}


def _receivables_expected(session: Session) -> dict[str, Decimal]:
    clawed = (
        select(col(Redemption.uscc), func.sum(col(Redemption.amount)))
        .join(PayoutItem, col(PayoutItem.redemption_id) == col(Redemption.id))
        .where(
            col(Redemption.status) == RedemptionStatus.REVERSED,
            col(PayoutItem.state) == ItemState.PAID,
        )
        .group_by(col(Redemption.uscc))
    )
    settled = (
        select(col(PayoutItem.uscc), func.sum(col(PayoutItem.offset)))
        .where(
            col(PayoutItem.state) == ItemState.PAID,
            col(PayoutItem.offset) != ZERO,
        )
        .group_by(col(PayoutItem.uscc))
    )
    expected: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for uscc, amount in session.execute(clawed):
        expected[str(uscc)] += _money(amount)
    for uscc, offset in session.execute(settled):
        expected[str(uscc)] -= _money(offset)
    return dict(expected)


# --- comparing -----------------------------------------------------------------------------------


def _policy_imbalances(
    policy: str,
    ledger: Mapping[Account, Decimal],
    budget: tuple[Decimal, Decimal] | None,
    owed: tuple[Decimal, Decimal],
    paid: Decimal,
) -> list[Imbalance]:
    def balance(account: Account) -> Decimal:
        return ledger.get(account, ZERO)

    found = []
    booked = sum((balance(a) for a in _BALANCED), ZERO)
    ceiling, reserved = budget if budget is not None else (ZERO, ZERO)
    if reserved != booked:
        found.append(
            Imbalance(
                "policy",
                policy,
                "reserved+payable+paid",
                reserved,
                booked,
                "policy_budget.reserved",
            )
        )
    held, payable = owed
    for account, expected, rule in (
        (Account.RESERVED, held, "held redemptions"),
        (Account.PAYABLE, payable, "approved, paying and returned redemptions"),
        (Account.PAID, paid, "paid payout items of redemptions not reversed"),
    ):
        if balance(account) != expected:
            found.append(Imbalance("policy", policy, account, expected, balance(account), rule))
    if budget is not None and reserved > ceiling:
        found.append(
            Imbalance(
                "policy",
                policy,
                "policy_budget.reserved",
                ceiling,
                reserved,
                "at most policy_budget.budget",
            )
        )
    return found


def _misplaced_redemptions(session: Session) -> tuple[list[Imbalance], int]:
    """Redemptions whose money in reserved / payable / paid is not where their status puts it;
    the first SHOWN_REDEMPTIONS as imbalances, and how many more there are."""
    source, target = col(LedgerEntry.source), col(LedgerEntry.target)
    balances = (
        select(
            col(LedgerEntry.redemption_id).label("redemption_id"),
            *[
                (
                    func.coalesce(_sum_where(target == account), 0)
                    - func.coalesce(_sum_where(source == account), 0)
                ).label(str(account))
                for account in _BALANCED
            ],
        )
        .group_by(col(LedgerEntry.redemption_id))
        .subquery("balances")
    )
    paid_items = (
        select(
            col(PayoutItem.redemption_id).label("redemption_id"),
            func.sum(col(PayoutItem.amount)).label("amount"),
        )
        .where(col(PayoutItem.state) == ItemState.PAID)
        .group_by(col(PayoutItem.redemption_id))
        .subquery("paid_items")
    )
    status, amount = col(Redemption.status), col(Redemption.amount)
    none = literal(0)
    expected = {
        Account.RESERVED: case((status == RedemptionStatus.HELD, amount), else_=none),
        Account.PAYABLE: case((status.in_(_PAYABLE), amount), else_=none),
        Account.PAID: case(
            (status != RedemptionStatus.REVERSED, func.coalesce(paid_items.c.amount, 0)),
            else_=none,
        ),
    }
    found = {a: func.coalesce(balances.c[str(a)], 0) for a in _BALANCED}
    base = (
        select(col(Redemption.id))
        .outerjoin(balances, balances.c.redemption_id == col(Redemption.id))
        .outerjoin(paid_items, paid_items.c.redemption_id == col(Redemption.id))
        .where(or_(*[found[a] != expected[a] for a in _BALANCED]))
    )
    total = int(session.execute(select(func.count()).select_from(base.subquery())).scalar_one())
    if not total:
        return [], 0
    # Sums of Money are exact integers of fen on SQLite, NUMERIC on PostgreSQL: read as Money.
    shown = session.execute(
        base.add_columns(
            col(Redemption.policy_id),
            status,
            *[type_coerce(found[a], Money()) for a in _BALANCED],
            *[type_coerce(expected[a], Money()) for a in _BALANCED],
        )
        .order_by(col(Redemption.id))
        .limit(SHOWN_REDEMPTIONS)
    ).all()
    n, imbalances = len(_BALANCED), []
    for redemption_id, policy, state, *values in shown:
        for i, account in enumerate(_BALANCED):
            held, should = _money(values[i]), _money(values[n + i])
            if held != should:
                rule = f"its status is {state} ({policy})"
                imbalances.append(
                    Imbalance("redemption", str(redemption_id), account, should, held, rule)
                )
    return imbalances, total - len(shown)
