"""The database keeps money exact and timestamps in UTC on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, inspect, select
from sqlmodel import Session, col

from subsidy import db
from subsidy.money import to_yuan
from subsidy.registry.models import Enterprise, RegistrySnapshot
from tests.subsidy.factories import make_uscc

amounts = st.decimals(min_value=0, max_value=Decimal("99999999999999.99"), places=2)


def _firm(serial: int, revenue: Decimal | None) -> Enterprise:
    return Enterprise(
        uscc=make_uscc(serial),
        name="x",
        district="西湖区",
        industry="I65",
        established=date(2020, 1, 1),
        size="micro",
        status="active",
        tax_rating="A",
        dishonest=False,
        high_tech=False,
        revenue=revenue,
    )


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(amounts, min_size=1, max_size=20))
def test_money_round_trips_and_sums_to_the_fen(engine: Engine, values: list[Decimal]) -> None:
    with db.session_scope(engine) as session:
        session.execute(Enterprise.__table__.delete())  # type: ignore[attr-defined]
        session.add_all(_firm(i, v) for i, v in enumerate(values))
    with Session(engine) as session:
        stored = session.execute(
            select(col(Enterprise.revenue)).order_by(col(Enterprise.uscc))
        ).scalars()
        assert sorted(v for v in stored if v is not None) == sorted(values)
        total = session.execute(select(func.sum(col(Enterprise.revenue)))).scalar_one()
        assert Decimal(total) == sum(values)


def test_money_is_rounded_half_up_and_never_float() -> None:
    assert to_yuan(Decimal("0.005")) == Decimal("0.01")
    assert to_yuan(Decimal("2.675")) == Decimal("2.68")
    assert to_yuan("0.1") + to_yuan("0.2") == Decimal("0.30")
    with pytest.raises(TypeError):
        to_yuan(0.1)  # type: ignore[arg-type]


def test_timestamps_come_back_aware_in_utc(engine: Engine) -> None:
    beijing = timezone(timedelta(hours=8))
    at = datetime(2020, 2, 1, 9, 30, tzinfo=beijing)
    with db.session_scope(engine) as session:
        snapshot = RegistrySnapshot(
            registry_name="enterprises",
            source_name="e.csv",
            content_hash="0" * 64,
            row_count=0,
            parquet_file="x",
            imported_at=at,
        )
        session.add(snapshot)
    with Session(engine) as session:
        stored = session.get_one(RegistrySnapshot, snapshot.id)
        assert stored.imported_at == at
        assert stored.imported_at.tzinfo == UTC


def test_naive_timestamps_are_refused(engine: Engine) -> None:
    with pytest.raises(Exception, match="timezone-aware"), db.session_scope(engine) as session:
        session.add(
            RegistrySnapshot(
                registry_name="enterprises",
                source_name="e.csv",
                content_hash="0" * 64,
                row_count=0,
                parquet_file="x",
                imported_at=datetime(2020, 1, 1),
            )
        )


def test_migrations_go_down_and_up_again(engine: Engine) -> None:
    assert db.current_revision(engine) == "0020"
    db.upgrade(engine, "head")  # idempotent
    from alembic import command

    command.downgrade(db.alembic_config(engine), "base")
    assert "enterprise" not in inspect(engine).get_table_names()
    db.upgrade(engine)
    assert {"enterprise", "employee", "registry_snapshot", "portal_session", "sign_in_code"} <= set(
        inspect(engine).get_table_names()
    )
