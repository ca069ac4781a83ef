"""The kinds a declared source adds (integer, decimal) parsed like the built-in ones: every cell
exact or refused by row and column, never rounded; and the catalog read back from its content."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session

from subsidy.registry import catalog as catalog_module
from subsidy.registry.catalog import BUILTIN, Catalog, Source, SourceKey, from_content, to_content
from subsidy.registry.errors import RegistryValidationError
from subsidy.registry.schema import Column, Kind
from subsidy.registry.validation import validate
from tests.subsidy.factories import make_uscc

TAX = Source(
    "tax",
    "Hangzhou Municipal Tax Service",
    SourceKey.USCC,
    (
        Column("patents", Kind.INTEGER, nullable=True, source="tax", label_zh="专利数"),
        Column("rd_share", Kind.DECIMAL, nullable=True, scale=3, source="tax", label_en="R&D"),
    ),
)


def _frame(patents: list[str | None], shares: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "uscc": [make_uscc(i + 1) for i in range(len(patents))],
            "patents": patents,
            "rd_share": shares,
        },
        schema={"uscc": pl.String, "patents": pl.String, "rd_share": pl.String},
    )


def test_integers_and_decimals_parse_exactly() -> None:
    typed = validate(_frame(["12", "+3", None], ["0.035", "-1.5", "7"]), TAX.table, "tax.csv")
    assert typed["patents"].to_list() == [12, 3, None]
    assert typed["rd_share"].to_list() == [Decimal("0.035"), Decimal("-1.500"), Decimal("7.000")]


@pytest.mark.parametrize(
    ("patents", "share", "column", "words"),
    [
        ("1.5", "0.1", "patents", "is not a whole number"),
        ("12x", "0.1", "patents", "is not a whole number"),
        ("1" * 19, "0.1", "patents", "is not a whole number"),
        ("1", "0.0355", "rd_share", "at most 3 decimals"),
        ("1", "1e3", "rd_share", "at most 3 decimals"),
    ],
)
def test_a_bad_number_is_refused_by_row_and_column(
    patents: str, share: str, column: str, words: str
) -> None:
    with pytest.raises(RegistryValidationError) as raised:
        validate(_frame(["1", patents], ["0.1", share]), TAX.table, "tax.csv")
    (problem,) = raised.value.problems
    assert (problem.row, problem.column) == (3, column)
    assert words in problem.message
    assert "不是" in problem.message_in("zh")


@given(st.decimals(min_value=-(10**20), max_value=10**20, places=3, allow_nan=False))
def test_every_decimal_within_scale_reads_back_equal(value: Decimal) -> None:
    typed = validate(_frame(["1"], [str(value)]), TAX.table, "tax.csv")
    assert typed["rd_share"][0] == value


def test_the_catalog_reads_back_from_its_content() -> None:
    person = Source(
        "social-insurance",
        "HRSS",
        SourceKey.PERSON_ID,
        (Column("months", Kind.INTEGER, source="social-insurance", label_zh="月", label_en="m"),),
    )
    declared = Catalog(3, (TAX, person))
    assert from_content(3, to_content(declared)) == declared
    assert [c.name for c in declared.firm_columns][-2:] == ["patents", "rd_share"]
    assert [c.name for c in declared.employee_columns][-1] == "months"
    assert "uscc" not in [c.name for c in declared.employee_columns]
    assert declared.column("months") == person.columns[0]
    assert BUILTIN.declared_columns == ()


def test_no_declaration_is_the_builtin_catalog(engine: Engine) -> None:
    with Session(engine) as session:
        assert catalog_module.current(session) is BUILTIN
