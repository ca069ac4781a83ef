"""Queries and the atomic budget reservation."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import LargeBinary, bindparam, exists, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from matching.models import Qualification
from subsidy.audit.service import SqlEntry
from subsidy.db import Money, UTCDateTime, utcnow
from subsidy.redemption.models import FirmFlag, PolicyBudget, Redemption, RedemptionStatus
from subsidy.settings import get_settings


def by_key(session: Session, uscc: str, key: str) -> Redemption | None:
    query = select(Redemption).where(
        col(Redemption.uscc) == uscc, col(Redemption.idempotency_key) == key
    )
    return session.execute(query).scalars().first()


def held(session: Session, uscc: str, policy_id: str, group: str | None) -> Redemption | None:
    """The firm's redemption of this policy, else of the policy's group, if it holds one."""
    same = col(Redemption.policy_id) == policy_id
    if group is not None:
        same = or_(same, col(Redemption.group_key) == group)
    query = select(Redemption).where(col(Redemption.uscc) == uscc, same)
    found = list(session.execute(query).scalars())
    return next((r for r in found if r.policy_id == policy_id), found[0] if found else None)


def flagged(session: Session, uscc: str) -> bool:
    return session.get(FirmFlag, uscc) is not None


def flagged_among(session: Session, usccs: list[str]) -> set[str]:
    found: set[str] = set()
    bound = get_settings().in_list_bound
    for start in range(0, len(usccs), bound):
        chunk = usccs[start : start + bound]
        query = select(col(FirmFlag.uscc)).where(col(FirmFlag.uscc).in_(chunk))
        found.update(session.execute(query).scalars())
    return found


def of_firm(session: Session, uscc: str) -> list[Redemption]:
    query = select(Redemption).where(col(Redemption.uscc) == uscc).order_by(col(Redemption.id))
    return list(session.execute(query).scalars())


def reserve(session: Session, policy_id: str, budget: Decimal, amount: Decimal) -> bool:
    """Add `amount` to the policy's reserved total unless that would pass `budget`.

    One conditional UPDATE: concurrent reservations serialise on the row, and the condition is
    checked against the committed total, so no interleaving can overspend."""
    _ensure_budget(session, policy_id, budget)
    reserved = col(PolicyBudget.reserved)
    result = session.execute(
        update(PolicyBudget)
        .where(col(PolicyBudget.policy_id) == policy_id, reserved + amount <= budget)
        .values(reserved=reserved + amount, budget=budget)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release(session: Session, policy_id: str, amount: Decimal) -> None:
    """Give `amount` back to the policy's budget (a reversal): others may redeem it."""
    reserved = col(PolicyBudget.reserved)
    released = session.execute(
        update(PolicyBudget)
        .where(col(PolicyBudget.policy_id) == policy_id)
        .values(reserved=reserved - amount)
    )
    if released.rowcount != 1:  # type: ignore[attr-defined]
        raise AssertionError(f"policy {policy_id} has a redemption but no budget row")


def set_status(session: Session, redemption_ids: Sequence[int], status: RedemptionStatus) -> None:
    """Many redemptions to one status at once (the bank's answers), the IN list bounded."""
    chunk_size = get_settings().in_list_bound
    for start in range(0, len(redemption_ids), chunk_size):
        chunk = list(redemption_ids[start : start + chunk_size])
        session.execute(
            update(Redemption)
            .where(col(Redemption.id).in_(chunk))
            .values(status=str(status))
            .execution_options(synchronize_session=False)
        )


def mark_paying(session: Session, redemption_ids: Any) -> None:
    """Every approved redemption among `redemption_ids` (a subquery) is now being paid."""
    session.execute(
        update(Redemption)
        .where(
            col(Redemption.status) == RedemptionStatus.APPROVED,
            col(Redemption.id).in_(redemption_ids),
        )
        .values(status=str(RedemptionStatus.PAYING))
        .execution_options(synchronize_session=False)
    )


def locked_budget(session: Session, policy_id: str, budget: Decimal) -> PolicyBudget:
    """The policy's budget row, created if need be, locked until the transaction ends."""
    _ensure_budget(session, policy_id, budget)
    query = select(PolicyBudget).where(col(PolicyBudget.policy_id) == policy_id).with_for_update()
    found: PolicyBudget = session.execute(query).scalars().one()
    return found


def ungranted(session: Session, policy_id: str, group: str | None) -> list[tuple[str, Decimal]]:
    """The policy's qualified firms (USCC order) holding neither the policy nor its group."""
    held = col(Redemption.policy_id) == policy_id
    if group is not None:
        held = or_(held, col(Redemption.group_key) == group)
    query = (
        select(col(Qualification.uscc), col(Qualification.amount))
        .where(
            col(Qualification.policy_id) == policy_id,
            ~exists().where(col(Redemption.uscc) == col(Qualification.uscc), held),
        )
        .order_by(col(Qualification.uscc))
    )
    return [(uscc, amount) for uscc, amount in session.execute(query)]


def insert_grants(
    session: Session, rows: list[dict[str, object]]
) -> list[tuple[int, str, Decimal]]:
    """Insert redemptions, skipping any a concurrent request stored first; (id, uscc, amount)
    of those inserted."""
    if not rows:
        return []
    dialect = postgresql if session.connection().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(Redemption)
        .on_conflict_do_nothing()
        .returning(col(Redemption.id), col(Redemption.uscc), col(Redemption.amount))
    )
    now = utcnow()
    inserted = session.execute(statement, [row | {"created_at": now} for row in rows])
    return [(int(i), str(u), Decimal(a)) for i, u, a in inserted]


def _ensure_budget(session: Session, policy_id: str, budget: Decimal) -> None:
    dialect = postgresql if session.connection().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(PolicyBudget)
        .values(policy_id=policy_id, budget=budget, reserved=Decimal("0.00"))
        .on_conflict_do_nothing(index_elements=["policy_id"])
    )


# PostgreSQL only: the budget reservation, the redemption row and its audit entry in one
# statement, the request's last before it commits. The budget row and the audit chain's head
# are each locked from here to the commit; in one round trip that is a fraction of a
# millisecond, where separate statements would each wait for the worker's GIL on the way back.
# The entry's MAC is HMAC-SHA256 spelled out with sha256 (RFC 2104) over the key's two pads,
# exactly what `subsidy.audit` computes in Python.
_RESERVE_INSERT_AND_RECORD = text(
    """
WITH budget AS (
    UPDATE policy_budget SET reserved = reserved + :amount, budget = :budget
    WHERE policy_id = :policy_id AND reserved + :amount <= :budget
    RETURNING policy_id
), redemption AS (
    INSERT INTO redemption (uscc, policy_id, policy_version, group_key, amount, status,
                            idempotency_key, created_at, changed_by)
    SELECT :uscc, :policy_id, :version, :group_key, :amount, :status, :key, :at, :changed_by
    FROM budget
    RETURNING id
), head AS (
    UPDATE audit_head
    SET previous = audit_head.hash,
        hash = encode(sha256(:outer_pad || sha256(:inner_pad || convert_to(
            audit_head.hash || :body_head || redemption.id::text || :body_tail, 'UTF8'))), 'hex')
    FROM redemption
    WHERE audit_head.id = 1
    RETURNING audit_head.previous AS previous_hash, audit_head.hash AS hash, redemption.id AS id
), entry AS (
    INSERT INTO audit_entry (at, actor, action, subject, before, after, previous_hash, hash)
    SELECT :at, :actor, :action, :subject_prefix || head.id::text, :before, :after,
           head.previous_hash, head.hash
    FROM head
    RETURNING id, hash
), moves AS (
    INSERT INTO ledger_entry (at, policy_id, uscc, redemption_id, source, target, amount, memo)
    SELECT :at, :policy_id, :uscc, redemption.id, m.source, m.target, :amount, m.memo
    FROM redemption, (VALUES (1, 'budget', 'reserved', 'reserve'),
                             (2, 'reserved', 'payable', 'approve')) AS m(n, source, target, memo)
    WHERE m.n <= :moves
)
SELECT head.id, entry.id AS entry_id, entry.hash FROM head, entry
"""
).bindparams(
    bindparam("amount", type_=Money()),
    bindparam("budget", type_=Money()),
    bindparam("at", type_=UTCDateTime()),
    bindparam("inner_pad", type_=LargeBinary()),
    bindparam("outer_pad", type_=LargeBinary()),
)


class Stored(NamedTuple):
    redemption_id: int
    entry_id: int
    mac: str


def reserve_insert_and_record(
    session: Session, redemption: Redemption, budget: Decimal, entry: SqlEntry
) -> Stored | None:
    """Reserve, store `redemption`, post its ledger moves and append `entry` about it, all or
    nothing; the redemption's id with the entry's id and MAC, or None when the budget cannot
    cover it (nothing written)."""
    values = {
        "amount": redemption.amount,
        "budget": budget,
        "policy_id": redemption.policy_id,
        "uscc": redemption.uscc,
        "version": redemption.policy_version,
        "group_key": redemption.group_key,
        "status": redemption.status,
        "key": redemption.idempotency_key,
        "changed_by": redemption.changed_by,
        "moves": 2 if redemption.status == RedemptionStatus.APPROVED else 1,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "subject_prefix": entry.subject_prefix,
        "before": entry.before,
        "after": entry.after,
        "body_head": entry.body_head,
        "body_tail": entry.body_tail,
        "inner_pad": entry.inner_pad,
        "outer_pad": entry.outer_pad,
    }
    found = session.execute(_RESERVE_INSERT_AND_RECORD, values).one_or_none()
    if found is None:
        # Refused, or the policy's budget row did not exist yet (the first redemption of a
        # policy creates it); a look-up now could see a row created after the statement's
        # snapshot and misjudge which, so create it if need be and try once more.
        _ensure_budget(session, redemption.policy_id, budget)
        found = session.execute(_RESERVE_INSERT_AND_RECORD, values).one_or_none()
    return None if found is None else Stored(int(found[0]), int(found[1]), str(found[2]))
