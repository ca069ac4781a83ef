"""Explanations that read right: every symbol a clause read with its real value, `$today` the
as-of date, money in yuan to the fen, numbers as the policy gives them, dates as dates; on every
example policy, for firms of the demo registry, in both languages and as the API answers."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from policies import explain
from policies.checking import parameters_of
from policies.document import load_path
from policies.readings import COLUMN_SHAPES, Reading, Shape
from subsidy import i18n
from subsidy.registry import demo

EXAMPLES = sorted((Path(__file__).parents[2] / "policies" / "examples").glob("*.yaml"))
AS_OF = dt.date(2020, 6, 30)
FIRMS = 12

YUAN: dict[i18n.Language, re.Pattern[str]] = {
    "zh": re.compile(r"^\d{1,3}(,\d{3})*\.\d{2} 元$"),
    "en": re.compile(r"^\d{1,3}(,\d{3})*\.\d{2} yuan$"),
}
MISSING = {"zh": "无数据", "en": "missing"}
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    enterprises, employees = demo.generate(200, seed=3)
    return [
        explain.firm_of(enterprises, employees, uscc) for uscc in enterprises["uscc"].head(FIRMS)
    ]


def test_there_are_thirteen_examples() -> None:
    assert len(EXAMPLES) == 13


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_explains_with_real_values(path: Path, records: list[dict[str, Any]]) -> None:
    document = load_path(path)
    parameters = parameters_of(document)
    seen: set[str] = set()
    for record in records:
        found = explain.explain(document, record, AS_OF)
        for clause in found.clauses:
            for name, reading in clause.reads.items():
                seen.add(name)
                check_reading(name, reading, parameters, record)
    assert seen, f"{document.id}: its clauses read something"


def check_reading(
    name: str, reading: Reading, parameters: Mapping[str, object], record: dict[str, Any]
) -> None:
    for language in i18n.LANGUAGES:
        shown = reading.text(language)
        assert "None" not in shown, (name, shown)
        assert shown != "null", name
        assert shown, name
    value = reading.json()
    if name in ("$today", "$now"):
        assert reading.shape is Shape.DATE
        assert reading.text("zh") == reading.text("en") == value == "2020-06-30"
    elif name in parameters:
        given = parameters[name]
        if isinstance(given, Decimal):
            assert reading.shape is Shape.NUMBER
            assert reading.text("en") == format(given, "f")
            if given == given.to_integral_value():
                assert "." not in reading.text("zh"), (name, reading.text("zh"))
                assert value == int(given)
                assert isinstance(value, int)
    elif COLUMN_SHAPES.get(name) is Shape.MONEY:
        assert reading.shape is Shape.MONEY
        if record[name] is None:
            assert value is None
            assert reading.text("zh") == MISSING["zh"]
        else:
            for language, pattern in YUAN.items():
                assert pattern.match(reading.text(language)), (name, reading.text(language))
            assert value == f"{record[name]:.2f}"
    elif COLUMN_SHAPES.get(name) is Shape.DATE:
        assert DAY.match(reading.text("en")), (name, reading.text("en"))
    elif name == "employees":
        assert reading.shape is Shape.RECORDS
        assert reading.text("zh") == f"{len(record['employees']):,} 条员工记录"
    elif COLUMN_SHAPES.get(name) is Shape.BOOLEAN:
        assert reading.text("zh") in ("是", "否")
        assert reading.text("en") in ("true", "false")


def test_today_numbers_and_money_in_the_startup_hiring_explanation(
    records: list[dict[str, Any]],
) -> None:
    document = load_path(next(p for p in EXAMPLES if p.stem == "hz-2020-startup-hiring-subsidy"))
    found = explain.explain(document, records[0], AS_OF)
    reads = {n: r for c in found.clauses for n, r in c.reads.items()}
    assert reads["$today"].text("zh") == "2020-06-30"
    assert reads["max_age_days"].text("en") == "1095"
    assert reads["min_insured"].text("en") == "3"
    assert reads["max_age_days"].json() == 1095
    assert DAY.match(reads["established"].text("en"))


def test_money_and_numbers_come_from_their_declaration_not_from_their_value() -> None:
    """A money column whose value is whole is still yuan to the fen; a parameter with decimals is
    still the document's number; text that looks like a number stays text."""
    from policies.readings import reading

    record = {"revenue": Decimal("3"), "district": "1095", "dishonest": False}
    parameters = {"rate": Decimal("0.5"), "cap_days": Decimal("1095")}
    assert reading("revenue", record, parameters, AS_OF).text("zh") == "3.00 元"  # type: ignore[union-attr]
    assert reading("rate", record, parameters, AS_OF).text("en") == "0.5"  # type: ignore[union-attr]
    assert reading("cap_days", record, parameters, AS_OF).json() == 1095  # type: ignore[union-attr]
    assert reading("district", record, parameters, AS_OF).json() == "1095"  # type: ignore[union-attr]
    assert reading("dishonest", record, parameters, AS_OF).text("zh") == "否"  # type: ignore[union-attr]
    assert reading("$sum", record, parameters, AS_OF) is None  # a function holds no value
    missing = reading("ui_premium", {}, parameters, AS_OF)
    assert missing is not None
    assert missing.shape is Shape.MONEY
    assert missing.json() is None
