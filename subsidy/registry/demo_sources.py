"""The demo's declared sources, drawn from the demo registry (`demo.generate`).

- `tax` (by firm): R&D expense and export revenue for fiscal year 2019. About one firm in ten
  with revenue files no R&D expense (null); high-technology firms spend a larger share, so
  some clear the 3% the demo's R&D policy asks and most do not.
- `social-insurance` (by person): months of 2019 each employee was insured, from their hire and
  leave dates. An employee hired after 2019 has no 2019 record, so no row at all (a rule
  reads null); a few others are missing from the bureau's file as well.

The same seed and registry always give equal frames. `DECLARATION` is the YAML `qinqing demo`
declares before importing them.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from importlib.resources.abc import Traversable

import numpy as np
import polars as pl

from subsidy.registry.demo import yuan_series

DECLARATION: Traversable = resources.files("subsidy.registry") / "demo_sources.yaml"
"""The declaration of the two demo sources."""

TAX = "tax"
SOCIAL_INSURANCE = "social-insurance"
_YEAR_START, _YEAR_END = dt.date(2019, 1, 1), dt.date(2019, 12, 31)


def generate(
    enterprises: pl.DataFrame, employees: pl.DataFrame, seed: int = 2020
) -> dict[str, pl.DataFrame]:
    """{source name: its file's rows} for the demo registry's firms and employees."""
    rng = np.random.default_rng([seed, 15])
    return {
        TAX: _tax(rng, enterprises),
        SOCIAL_INSURANCE: _social_insurance(rng, employees),
    }


def _tax(rng: np.random.Generator, enterprises: pl.DataFrame) -> pl.DataFrame:
    filed = enterprises.filter(pl.col("revenue").is_not_null())
    n = filed.height
    revenue_fen = (filed["revenue"].cast(pl.Float64) * 100).to_numpy()
    # R&D intensity: median 1.2% of revenue, 3.5% for high-technology firms, widely spread.
    median = np.where(filed["high_tech"].to_numpy(), 0.035, 0.012)
    share = np.exp(np.log(median) + rng.normal(0.0, 0.6, n))
    rd_fen = np.rint(revenue_fen * np.minimum(share, 0.5)).astype(np.int64)
    exporter = rng.random(n) < 0.2
    export_fen = np.rint(revenue_fen * rng.uniform(0.05, 0.6, n)).astype(np.int64)
    return pl.DataFrame(
        [
            filed["uscc"],
            yuan_series("rd_expense", rd_fen).set(pl.Series(rng.random(n) < 0.1), None),
            yuan_series("export_revenue", export_fen).set(pl.Series(~exporter), None),
        ]
    )


def _social_insurance(rng: np.random.Generator, employees: pl.DataFrame) -> pl.DataFrame:
    start = pl.max_horizontal(pl.col("hire_date"), pl.lit(_YEAR_START))
    end = pl.min_horizontal(pl.col("leave_date").fill_null(_YEAR_END), pl.lit(_YEAR_END))
    months = (end.dt.month() - start.dt.month() + 1).clip(0, 12)
    employed = employees.filter(
        (pl.col("hire_date") <= _YEAR_END)
        & (pl.col("leave_date").is_null() | (pl.col("leave_date") >= _YEAR_START))
    )
    on_file = pl.Series(rng.random(employed.height) >= 0.03)
    return employed.filter(on_file).select(
        "person_id",
        pl.when(pl.col("insured"))
        .then(months)
        .otherwise(0)
        .cast(pl.Int64)
        .alias("months_insured_2019"),
    )
