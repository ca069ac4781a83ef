"""What a clause read, in plain words (`policies.plain`): each value under its column's label,
money as yuan, dates as dates, booleans 是/否, choices by their terms, a declared column by its
declaration's label; the policy's own parameters are not the firm's data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from matching.schemas import ClauseOut
from policies.document import ClauseLabel
from policies.explain import ClauseResult
from policies.plain import column_label, plain_values, value_words
from policies.readings import Reading, Shape, readings
from subsidy.registry.catalog import BUILTIN, Catalog, Source, SourceKey
from subsidy.registry.schema import Column, Kind

RD = Column(
    "rd_expense", Kind.MONEY, nullable=True, source="tax", label_zh="研发费用", label_en="R&D"
)
MONTHS = Column("months_insured_2019", Kind.INTEGER, source="si", label_zh="2019年参保月数")
DECLARED = Catalog(
    1,
    (
        Source("tax", "Hangzhou Municipal Tax Service", SourceKey.USCC, (RD,)),
        Source("si", "Social security", SourceKey.PERSON_ID, (MONTHS,)),
    ),
)
FIRM = {
    "uscc": "91330100000000000X",
    "status": "active",
    "dishonest": False,
    "established": dt.datetime(2019, 3, 1),
    "revenue": Decimal("5000000.00"),
    "tax_rating": "B",
    "bank_account": "6222000000000000",
    "rd_expense": Decimal("150000.50"),
    "employees": [{"insured": True}, {"insured": False}],
}


def _plain(symbols: tuple[str, ...], catalog: Catalog = BUILTIN) -> dict[str, tuple[str, str]]:
    found = readings(symbols, FIRM, {"min_rd_share": Decimal("0.03")}, dt.date(2020, 6, 30))
    return {v.column: (v.label.zh, v.text.zh) for v in plain_values(found, catalog)}


def test_built_in_columns_in_plain_chinese() -> None:
    symbols = ("status", "dishonest", "established", "revenue", "tax_rating", "employees")
    assert _plain(symbols) == {
        "status": ("经营状态", "存续"),
        "dishonest": ("列入失信名单", "否"),
        "established": ("成立日期", "2019年3月1日"),
        "revenue": ("上年营业收入", "¥5,000,000.00"),
        "tax_rating": ("纳税信用等级", "B级"),
        "employees": ("员工", "2 条员工记录"),
    }


def test_parameters_and_today_are_not_the_firms_data() -> None:
    assert _plain(("$today", "min_rd_share", "status")) == {"status": ("经营状态", "存续")}


def test_a_personal_column_only_as_on_record() -> None:
    assert _plain(("bank_account",)) == {"bank_account": ("银行账户", "已登记")}


def test_a_declared_column_by_its_declarations_label() -> None:
    assert _plain(("rd_expense",), DECLARED) == {"rd_expense": ("研发费用", "¥150,000.50")}
    assert column_label("rd_expense", DECLARED).en == "R&D"
    assert column_label("months_insured_2019", DECLARED).get("en") == "2019年参保月数"


def test_english_words() -> None:
    reading = Reading(Shape.DATE, dt.date(2020, 2, 9))
    assert value_words("hire_date", None, reading).get("en") == "9 February 2020"
    assert value_words("x", None, Reading(Shape.BOOLEAN, True)).get("en") == "yes"
    assert value_words("x", None, Reading(Shape.MONEY, None)).get("zh") == "无数据"


@given(st.decimals(min_value=0, max_value=Decimal("99999999999999.99"), places=2))
def test_money_reads_back_as_the_same_yuan(amount: Decimal) -> None:
    words = value_words("revenue", None, Reading(Shape.MONEY, amount))
    assert words.zh == words.en
    assert Decimal(words.zh.removeprefix("¥").replace(",", "")) == amount


def test_the_api_clause_has_its_label_and_values_only_when_labelled() -> None:
    found = readings(("status",), FIRM, {}, dt.date(2020, 6, 30))
    unlabelled = ClauseOut.of(ClauseResult("status == 'active'", True, None, found))
    assert (unlabelled.label, unlabelled.values) == (None, [])
    label = ClauseLabel(zh="企业处于存续状态", en="The firm is active")
    labelled = ClauseOut.of(ClauseResult("status == 'active'", True, None, found, label))
    assert labelled.label is not None
    assert labelled.label.en == "The firm is active"
    [value] = labelled.values
    assert (value.column, value.label.zh, value.value.zh, value.raw) == (
        "status",
        "经营状态",
        "存续",
        "active",
    )
    assert labelled.reads == unlabelled.reads  # the existing fields stay
