"""A registry declaration read: every problem placed by line and field, or the catalog it says."""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from subsidy import i18n
from subsidy.registry.catalog import (
    DECLARABLE_KINDS,
    Catalog,
    Source,
    SourceKey,
    canonical_json,
    from_content,
    to_content,
)
from subsidy.registry.declarations import (
    KEYWORDS,
    MAX_DOCUMENT_CHARS,
    TEXT_LENGTH,
    parse,
)
from subsidy.registry.demo_sources import DECLARATION
from subsidy.registry.errors import DECLARATION_CODES, DeclarationError, DeclarationProblem
from subsidy.registry.schema import DECIMAL_SCALE, Column, Kind

DEMO = DECLARATION.read_text(encoding="utf-8")


def refusal(text: str) -> list[DeclarationProblem]:
    with pytest.raises(DeclarationError) as refused:
        parse(text, "d.yaml", version=1)
    return refused.value.problems


def with_column(**fields: Any) -> str:
    """A one-source declaration whose one column has `fields` over a valid money column."""
    column = {"type": "money", "nullable": True, "label": {"zh": "研发费用", "en": "R&D"}}
    column.update(fields)
    column = {k: v for k, v in column.items() if v is not None}
    return yaml.safe_dump(
        {
            "sources": [
                {"name": "tax", "department": "Tax", "key": "uscc", "columns": {"rd": column}}
            ]
        },
        allow_unicode=True,
    )


def test_the_demo_declaration_is_two_sources_with_their_labels() -> None:
    catalog = parse(DEMO, "demo_sources.yaml", version=3)
    assert catalog.version == 3
    tax, social = catalog.sources
    assert (tax.name, tax.key, social.key) == ("tax", SourceKey.USCC, SourceKey.PERSON_ID)
    assert tax.department == "Hangzhou Municipal Tax Service"
    rd = catalog.column("rd_expense")
    assert rd is not None
    assert (rd.kind, rd.nullable, rd.source, rd.label_zh, rd.label_en) == (
        Kind.MONEY,
        True,
        "tax",
        "研发费用",
        "R&D expense",
    )
    months = catalog.column("months_insured_2019")
    assert months is not None
    assert months.kind is Kind.INTEGER
    assert not months.nullable
    assert months in catalog.employee_columns
    assert rd in catalog.firm_columns


def test_no_sources_declares_nothing() -> None:
    assert parse("sources: []\n", "retire.yaml", version=2) == Catalog(2, ())


def test_text_and_decimal_columns_get_their_bounds() -> None:
    text = parse(with_column(type="text"), "d.yaml", version=1).sources[0].columns[0]
    assert (text.max_length, text.scale) == (TEXT_LENGTH, None)
    decimal = parse(with_column(type="decimal"), "d.yaml", version=1).sources[0].columns[0]
    assert (decimal.scale, decimal.max_length) == (DECIMAL_SCALE, None)
    four = parse(with_column(type="decimal", scale=4), "d.yaml", version=1)
    assert four.sources[0].columns[0].scale == 4


# --- every refusal names its field --------------------------------------------------------------

REFUSALS = [
    (with_column(type="number"), "sources[0].columns.rd.type", "declaration.bad_type"),
    (with_column(type="intger"), "sources[0].columns.rd.type", "declaration.bad_type_hint"),
    (with_column(nullable=None), "sources[0].columns.rd.nullable", "declaration.required"),
    (with_column(nullable="maybe"), "sources[0].columns.rd.nullable", "declaration.not_bool"),
    (with_column(label={"zh": "研发"}), "sources[0].columns.rd.label.en", "declaration.required"),
    (with_column(label={"zh": " ", "en": "R"}), "sources[0].columns.rd.label.zh",
     "declaration.empty"),
    (with_column(label="R&D"), "sources[0].columns.rd.label", "declaration.not_mapping"),
    (with_column(label={"zh": "a", "en": "b", "fr": "c"}), "sources[0].columns.rd.label.fr",
     "declaration.unknown_field"),
    (with_column(lable=1), "sources[0].columns.rd.lable", "declaration.unknown_field_hint"),
    (with_column(scale=2), "sources[0].columns.rd.scale", "declaration.not_for_kind"),
    (with_column(type="decimal", scale=19), "sources[0].columns.rd.scale",
     "declaration.bad_number"),
    (with_column(type="text", max_length=0), "sources[0].columns.rd.max_length",
     "declaration.bad_number"),
    (with_column(description=["a"]), "sources[0].columns.rd.description", "declaration.not_text"),
    (with_column(type="choice"), "sources[0].columns.rd.type", "declaration.bad_type"),
    (DEMO.replace("key: uscc", "key: firm"), "sources[0].key", "declaration.bad_key"),
    (DEMO.replace("name: tax", "name: Tax"), "sources[0].name", "declaration.bad_source_name"),
    (DEMO.replace("name: tax", "name: employees"), "sources[0].name",
     "declaration.reserved_source"),
    (DEMO.replace("name: social-insurance", "name: tax"), "sources[1].name",
     "declaration.repeated_source"),
    (DEMO.replace("department: Hangzhou Municipal Tax Service", "department: ''"),
     "sources[0].department", "declaration.empty"),
    (DEMO.replace("    department: Hangzhou Municipal Tax Service\n", ""),
     "sources[0].department", "declaration.required"),
    (DEMO.replace("      export_revenue:", "      revenue:"),
     "sources[0].columns.revenue", "declaration.builtin_column"),
    (DEMO.replace("      export_revenue:", "      hire_date:"),
     "sources[0].columns.hire_date", "declaration.builtin_column"),
    (DEMO.replace("      export_revenue:", "      employees:"),
     "sources[0].columns.employees", "declaration.builtin_column"),
    (DEMO.replace("      export_revenue:", "      months_insured_2019:"),
     "sources[1].columns.months_insured_2019", "declaration.repeated_column"),
    (DEMO.replace("      export_revenue:", "      rd_expense:"),
     "sources[0].columns.rd_expense", "declaration.repeated_field"),
    (DEMO.replace("      export_revenue:", "      not:"), "sources[0].columns.not",
     "declaration.keyword"),
    (DEMO.replace("      export_revenue:", "      Export-Revenue:"),
     "sources[0].columns.Export-Revenue", "declaration.bad_column_name"),
    (DEMO.replace("      export_revenue:", "      2019_exports:"),
     "sources[0].columns.2019_exports", "declaration.bad_column_name"),
    (DEMO.replace("    key: uscc\n", "    key: uscc\n    owner: x\n"), "sources[0].owner",
     "declaration.unknown_field"),
    ("sources:\n  - name: tax\n    department: T\n    key: uscc\n    columns: {}\n",
     "sources[0].columns", "declaration.no_columns"),
    ("sources:\n  - name: tax\n    department: T\n    key: uscc\n    columns: [a]\n",
     "sources[0].columns", "declaration.not_mapping"),
    ("sources: {tax: 1}\n", "sources", "declaration.not_list"),
    ("sources:\n  - tax\n", "sources[0]", "declaration.not_mapping"),
    ("source: []\n", "source", "declaration.unknown_field_hint"),
    ("{}\n", "sources", "declaration.required"),
    ("", "", "declaration.required"),
    ("[1, 2]\n", "", "declaration.not_mapping"),
    ("sources: [\n", "", "declaration.yaml"),
    ("sources:\n" + "- " * 50_000 + "x\n", "", "declaration.too_deep"),
    ("sources: &s [{name: tax}]\nmore: *s\n", "", "declaration.alias"),
    ("a: [" + "[" * 50_000 + "\n", "", "declaration.too_deep"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "path", "code"), REFUSALS)
def test_each_refusal_names_its_field(text: str, path: str, code: str) -> None:
    problems = refusal(text)
    assert [(p.path, p.code) for p in problems] == [(path, code)], problems
    assert path in str(problems[0])
    assert "d.yaml" in str(problems[0])


@pytest.mark.parametrize("word", sorted(KEYWORDS))
def test_no_keyword_of_the_rule_language_names_a_column(word: str) -> None:
    text = DEMO.replace("      export_revenue:", f"      {word}:")
    assert [p.code for p in refusal(text)] == ["declaration.keyword"]


def test_every_problem_is_reported_at_once_with_its_line() -> None:
    text = DEMO.replace("key: uscc", "key: firm").replace("type: integer", "type: number")
    text = text.replace("nullable: true", "nullable: maybe", 1)
    problems = refusal(text)
    assert [(p.line, p.path) for p in problems] == [
        (6, "sources[0].key"),
        (11, "sources[0].columns.rd_expense.nullable"),
        (25, "sources[1].columns.months_insured_2019.type"),
    ]
    message = str(DeclarationError("d.yaml", problems))
    assert "3 problems" in message
    assert (
        "line 25: sources[1].columns.months_insured_2019.type: 'number' is not a type; "
        "use one of text, integer, money, decimal, date, bool" in message
    )


def test_the_problems_read_in_chinese() -> None:
    text = with_column(type="number")
    line = next(i for i, words in enumerate(text.splitlines(), 1) if "type: number" in words)
    shown = DeclarationError("d.yaml", refusal(text)).message_in("zh")
    assert f"d.yaml：第 {line} 行：字段 sources[0].columns.rd.type：" in shown
    assert "“number”不是有效的类型" in shown


@pytest.mark.parametrize("code", DECLARATION_CODES)
def test_every_problem_has_its_words_in_both_languages(code: str) -> None:
    for language in ("zh", "en"):
        assert i18n.has(language, f"error.{code}"), (language, code)


def test_a_document_past_the_bound_is_refused_before_it_is_read() -> None:
    problems = refusal("#" * (MAX_DOCUMENT_CHARS + 1))
    assert [p.code for p in problems] == ["declaration.too_large"]


# --- for all declarations: what parses is what the canonical content reads back ------------------

_LABEL = st.text(
    alphabet=string.ascii_letters + "研发费用出口收入参保月数", min_size=1, max_size=12
)
_COLUMN_NAMES = st.from_regex(r"\A[a-z][a-z0-9_]{0,10}\Z").filter(
    lambda n: n not in KEYWORDS and not n.startswith(("uscc", "person", "employee"))
)


@st.composite
def declarations(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(_COLUMN_NAMES, min_size=1, max_size=8, unique=True))
    names = [f"x_{n}" for n in names]  # never a built-in column's name
    sources, start = [], 0
    count = draw(st.integers(1, min(3, len(names))))
    for index in range(count):
        end = (
            len(names)
            if index == count - 1
            else draw(st.integers(start + 1, len(names) - (count - index - 1)))
        )
        columns = {}
        for name in names[start:end]:
            kind = draw(st.sampled_from(DECLARABLE_KINDS))
            column: dict[str, Any] = {
                "type": kind.value,
                "nullable": draw(st.booleans()),
                "label": {"zh": draw(_LABEL), "en": draw(_LABEL)},
            }
            if draw(st.booleans()):
                column["description"] = draw(_LABEL)
            if kind is Kind.DECIMAL and draw(st.booleans()):
                column["scale"] = draw(st.integers(0, 18))
            if kind is Kind.TEXT and draw(st.booleans()):
                column["max_length"] = draw(st.integers(1, 4000))
            columns[name] = column
        sources.append(
            {
                "name": f"source-{index}",
                "department": draw(_LABEL),
                "key": draw(st.sampled_from(["uscc", "person_id"])),
                "columns": columns,
            }
        )
        start = end
    return {"sources": sources}


@settings(max_examples=60, deadline=None)
@given(declarations())
def test_a_parsed_declaration_round_trips_through_its_canonical_content(
    document: dict[str, Any],
) -> None:
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    catalog = parse(text, "d.yaml", version=7)
    content = to_content(catalog)
    assert from_content(7, json.loads(canonical_json(content))) == catalog
    declared = [name for s in document["sources"] for name in s["columns"]]
    assert [c.name for c in catalog.declared_columns] == declared
    for source, written in zip(catalog.sources, document["sources"], strict=True):
        for column in source.columns:
            assert column.kind.value == written["columns"][column.name]["type"]
            assert column.label_zh == written["columns"][column.name]["label"]["zh"]


def test_the_catalog_carries_what_rules_need() -> None:
    catalog = parse(DEMO, "demo.yaml", version=1)
    tax = catalog.source("tax")
    assert isinstance(tax, Source)
    assert all(isinstance(c, Column) and c.source == "tax" for c in tax.columns)
    assert tax.table.names == ["uscc", "rd_expense", "export_revenue"]


def test_a_long_name_is_shown_cut() -> None:
    name = "x" * 1_000  # YAML takes a plain key up to 1,024 characters
    (problem,) = refusal(DEMO.replace("      export_revenue:", f"      {name}:"))
    assert problem.code == "declaration.bad_column_name"
    assert len(str(problem)) < 400


_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=8), st.sampled_from(["uscc", "money"])
)
_ANY = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["name", "department", "key", "columns", "type", "label", "zh", "x"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=200), _ANY.map(lambda v: yaml.safe_dump({"sources": v}))))
def test_any_text_is_a_catalog_or_problems_never_a_crash(text: str) -> None:
    problems: list[DeclarationProblem] = []
    try:
        parse(text, "d.yaml", version=1)
    except DeclarationError as refused:
        problems = refused.problems
        assert problems  # a refusal says why
    assert all(str(p).startswith("d.yaml: ") for p in problems)
