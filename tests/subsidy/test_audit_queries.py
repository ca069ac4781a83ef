"""Reading the audit trail: filters by subject, actor, action (exact, or a prefix ending in `*`)
and time, newest first in pages with the count, personal data masked at any depth."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, update
from sqlmodel import col

from subsidy import db
from subsidy.audit import queries
from subsidy.audit import service as audit
from subsidy.audit.models import AuditEntry

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


def _trail(engine: Engine) -> None:
    with db.session_scope(engine) as session:
        audit.record(session, actor="finance:li", action="payout.run", subject="payout_run:1")
        audit.record(session, actor="finance:wang", action="payout.pay", subject="redemption:12")
        audit.record(
            session,
            actor="officer:zhang",
            action="redemption.approve",
            subject="redemption:1",
            after={"nested": {"bank_account": "6222000011112222333"}, "person_id": None},
        )
        audit.record(session, actor="finance:li_x", action="payout.run", subject="payout_run:2")
    with db.session_scope(engine) as session:  # spread over days, as a real trail is
        for n in range(1, 5):
            moved = update(AuditEntry).where(col(AuditEntry.id) == n)
            session.execute(moved.values(at=T0 + dt.timedelta(days=n - 1)))


def _ids(engine: Engine, wanted: queries.Filter) -> list[int]:
    with db.session_scope(engine) as session:
        found, total = queries.entries(session, wanted, offset=0, limit=100)
    assert total == len(found)
    return [e.id for e in found]


def test_filters_match_exactly_or_by_prefix(engine: Engine) -> None:
    _trail(engine)
    assert _ids(engine, queries.Filter()) == [4, 3, 2, 1]
    assert _ids(engine, queries.Filter(subject="redemption:1")) == [3]  # not redemption:12
    assert _ids(engine, queries.Filter(subject="redemption:*")) == [3, 2]
    assert _ids(engine, queries.Filter(actor="finance:li")) == [1]
    assert _ids(engine, queries.Filter(actor="finance:li_*")) == [4]  # `_` is no wildcard
    assert _ids(engine, queries.Filter(action="payout.*", actor="finance:*")) == [4, 2, 1]


def test_time_from_is_inclusive_and_to_exclusive(engine: Engine) -> None:
    _trail(engine)
    day = dt.timedelta(days=1)
    assert _ids(engine, queries.Filter(since=T0 + day, until=T0 + 3 * day)) == [3, 2]
    assert _ids(engine, queries.Filter(since=T0 + 3 * day)) == [4]


def test_pages_and_exports_read_the_same_entries_with_personal_data_masked(
    engine: Engine,
) -> None:
    _trail(engine)
    with db.session_scope(engine) as session:
        page, total = queries.entries(session, queries.Filter(), offset=1, limit=2)
        every = list(queries.every(session, queries.Filter()))
    assert total == 4
    assert [e.id for e in page] == [3, 2]
    assert [e.id for e in every] == [1, 2, 3, 4]
    assert every[2].after == {"nested": {"bank_account": "***************2333"}, "person_id": None}
