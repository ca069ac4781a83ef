"""Rules and test firms read declared sources' columns by name, checked against the catalog.

The demo declaration (subsidy/registry/demo_sources.yaml) declares `rd_expense` and
`export_revenue` (money, by firm) and `months_insured_2019` (integer, by person); the two
examples in policies/examples/sources/ read them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from matching.service import compile_document, compile_issues
from policies.checking import check, load_and_check
from policies.document import load_path
from policies.errors import PolicyDocumentError
from policies.language import context, firm_record, firm_types
from policies.readings import Shape, reading
from policies.testing import run_tests
from subsidy.registry.catalog import BUILTIN, Catalog
from subsidy.registry.declarations import parse
from subsidy.registry.demo_sources import DECLARATION
from tests.policies.test_document import policy_yaml

EXAMPLES = Path(__file__).parents[2] / "policies" / "examples" / "sources"
DEMO = parse(DECLARATION.read_text(encoding="utf-8"), "demo_sources.yaml", version=1)

EVERY_KIND = """
sources:
  - name: firm-facts
    department: Test bureau
    key: uscc
    columns:
      f_text: {type: text, nullable: true, label: {zh: 文本, en: Text}}
      f_int: {type: integer, nullable: false, label: {zh: 整数, en: Integer}}
      f_money: {type: money, nullable: true, label: {zh: 金额, en: Money}}
      f_share: {type: decimal, nullable: true, label: {zh: 比例, en: Share}}
      f_date: {type: date, nullable: true, label: {zh: 日期, en: Date}}
      f_flag: {type: bool, nullable: true, label: {zh: 标志, en: Flag}}
  - name: person-facts
    department: Test bureau
    key: person_id
    columns:
      p_int: {type: integer, nullable: true, label: {zh: 月数, en: Months}}
      p_date: {type: date, nullable: true, label: {zh: 日期, en: Date}}
"""
"""A declaration with a column of every declarable type, by firm and by person."""


def every_kind() -> Catalog:
    return parse(EVERY_KIND, "every-kind.yaml", version=2)


def refused(text: str, catalog: Catalog) -> list[str]:
    with pytest.raises(PolicyDocumentError) as caught:
        load_and_check(text, "policy.yaml", catalog=catalog)
    return [f"{i.field}: {i.message}" for i in caught.value.issues]


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_the_source_examples_check_test_and_compile_under_the_demo_declaration(
    path: Path,
) -> None:
    checked = check(load_path(path), catalog=DEMO)
    results = run_tests(checked)
    assert results
    assert all(r.passed for r in results), [r.message for r in results]
    assert compile_issues(checked, path.name) == []
    compile_document(checked.document, dt.date(2020, 6, 1), DEMO)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_without_the_declaration_the_source_examples_do_not_check(path: Path) -> None:
    with pytest.raises(PolicyDocumentError) as caught:
        check(load_path(path), catalog=BUILTIN)
    fields = {i.field for i in caught.value.issues}
    assert "eligibility" in fields


def test_a_declared_firm_column_has_the_type_of_its_kind() -> None:
    types = firm_types(every_kind())
    assert {n: t.name for n, t in types.items() if n.startswith("f_")} == {
        "f_text": "STRING",
        "f_int": "FLOAT",
        "f_money": "FLOAT",
        "f_share": "FLOAT",
        "f_date": "DATETIME",
        "f_flag": "BOOLEAN",
    }
    assert "f_text" not in firm_types(BUILTIN)


def test_a_misspelt_declared_column_is_named_with_the_declared_one() -> None:
    text = policy_yaml(eligibility="rd_expnse > 0", amount="'1'")
    (issue,) = refused(text, DEMO)
    assert "unknown symbol 'rd_expnse' (did you mean 'rd_expense'?)" in issue


def test_a_misspelt_person_column_is_named_with_the_declared_one() -> None:
    text = policy_yaml(
        eligibility="'[e for e in employees if e.months_insurd_2019 >= 6].length > 0'",
        amount="'1'",
    )
    (issue,) = refused(text, DEMO)
    assert "'months_insurd_2019'" in issue
    assert "'months_insured_2019'" in issue


def test_a_declared_column_is_type_checked() -> None:
    (issue,) = refused(policy_yaml(eligibility="f_text > 3", amount="'1'"), every_kind())
    assert issue.startswith("eligibility:")
    (issue,) = refused(policy_yaml(eligibility="f_flag", amount="f_date"), every_kind())
    assert issue.startswith("amount:")


def test_a_test_firm_gives_declared_columns_checked_by_their_kinds() -> None:
    tests = (
        "\n  - name: t"
        "\n    enterprise: {status: active, f_int: many, f_date: '2020-13-01', f_monye: 3}"
        "\n    employees: [{person_id: a, p_int: 1.5, rd_expense: 3}]"
        "\n    expect: {eligible: true}"
    )
    issues = refused(policy_yaml(tests=tests), every_kind())
    assert issues == [
        "tests[0].enterprise: f_int: expected a whole number (integer); "
        "f_date: '2020-13-01' is not a date (YYYY-MM-DD); "
        "unknown column 'f_monye' (did you mean 'f_money'?)",
        "tests[0].employees[0]: p_int: expected a whole number (integer); "
        "unknown column 'rd_expense'",
    ]


def test_a_parameter_may_not_hide_a_declared_column() -> None:
    text = policy_yaml(parameters='\n  rd_expense: {value: 1, basis: "art. 1"}', amount="'1'")
    assert refused(text, DEMO) == [
        "parameters.rd_expense: parameter 'rd_expense' clashes with the declared column of that "
        "name"
    ]


def test_test_firms_read_declared_cells_typed_and_absent_ones_as_null() -> None:
    tests = (
        "\n  - name: dated, counted and flagged"
        "\n    enterprise: {f_date: '2020-01-31', f_int: 3, f_flag: true, f_share: 0.25}"
        "\n    employees: [{person_id: a, p_int: 6}, {person_id: b}]"
        "\n    expect: {eligible: true, amount: 7.25}"
        "\n  - name: nothing declared given"
        "\n    enterprise: {status: active}"
        "\n    expect: {eligible: false}"
    )
    text = policy_yaml(
        parameters=None,
        eligibility="(f_date ?? $today) < d'2020-02-01' and f_flag == true",
        amount="f_int + f_share + [e for e in employees if (e.p_int ?? 0) >= 6].length * 4",
        tests=tests,
    )
    results = run_tests(load_and_check(text, "policy.yaml", catalog=every_kind()))
    assert [r.passed for r in results] == [True, True], [r.message for r in results]


def test_a_firm_record_reads_null_for_a_source_without_its_row() -> None:
    catalog = every_kind()
    record = firm_record({"uscc": "x"}, [{"person_id": "a"}], catalog)
    assert record["f_money"] is None
    assert record["employees"][0].p_int is None
    assert record["f_int"] is None  # not nullable in its file, but the firm has no row


def test_a_declared_column_reads_with_the_shape_of_its_kind() -> None:
    catalog = every_kind()
    record = firm_record(
        {"f_money": Decimal("12.50"), "f_int": 7, "f_share": Decimal("0.250000")}, [], catalog
    )
    as_of = dt.date(2020, 6, 1)
    money = reading("f_money", record, {}, as_of, catalog)
    assert money is not None
    assert money.shape is Shape.MONEY
    assert money.text("en") == "12.50 yuan"
    count = reading("f_int", record, {}, as_of, catalog)
    assert count is not None
    assert count.shape is Shape.NUMBER
    assert count.json() == 7
    share = reading("f_share", record, {}, as_of, catalog)
    assert share is not None
    assert share.json() == "0.250000"


def test_rules_parse_under_their_catalog_only() -> None:
    import rule_engine

    rule_engine.Rule("rd_expense > 0", context=context(catalog=DEMO))
    with pytest.raises(rule_engine.SymbolResolutionError):
        rule_engine.Rule("rd_expense > 0", context=context())
