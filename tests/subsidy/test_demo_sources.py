"""The demo's declared sources: deterministic, keyed on the demo registry, plausible."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from subsidy.registry import demo, demo_sources

Registry = tuple[pl.DataFrame, pl.DataFrame]


@pytest.fixture(scope="module")
def registry() -> Registry:
    return demo.generate(600, seed=7)


def test_the_same_registry_and_seed_give_equal_sources(registry: Registry) -> None:
    first = demo_sources.generate(*registry, seed=7)
    again = demo_sources.generate(*registry, seed=7)
    other = demo_sources.generate(*registry, seed=8)
    for name in first:
        assert first[name].equals(again[name])
    assert not first[demo_sources.TAX].equals(other[demo_sources.TAX])


def test_the_tax_source_covers_firms_with_revenue_once_each(registry: Registry) -> None:
    enterprises, _ = registry
    tax = demo_sources.generate(*registry)[demo_sources.TAX]
    with_revenue = enterprises.filter(pl.col("revenue").is_not_null())["uscc"]
    assert tax["uscc"].sort().equals(with_revenue.sort())
    assert tax["rd_expense"].null_count() > 0  # some firms file no R&D expense
    shares = tax.join(enterprises, on="uscc").select(
        (pl.col("rd_expense").cast(pl.Float64) / pl.col("revenue").cast(pl.Float64)).alias("s")
    )["s"]
    # Some firms clear the 3% the demo's R&D policy asks, most do not.
    assert 0 < (shares >= 0.03).sum() < shares.len() / 2


def test_months_insured_follow_the_employment_in_2019(registry: Registry) -> None:
    _, employees = registry
    months = demo_sources.generate(*registry)[demo_sources.SOCIAL_INSURANCE]
    assert months["person_id"].is_unique().all()
    joined = months.join(employees, on="person_id", how="left")
    assert joined["uscc"].null_count() == 0  # every row is a registered employee
    assert joined["months_insured_2019"].is_between(0, 12).all()
    assert joined.filter(pl.col("hire_date") > dt.date(2019, 12, 31)).is_empty()
    assert joined.filter(~pl.col("insured"))["months_insured_2019"].max() == 0
    whole_year = joined.filter(
        pl.col("insured")
        & (pl.col("hire_date") <= dt.date(2019, 1, 1))
        & pl.col("leave_date").is_null()
    )
    assert (whole_year["months_insured_2019"] == 12).all()
