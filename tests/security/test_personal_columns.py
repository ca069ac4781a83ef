"""Finding: a rule could read `bank_account` digit by digit through explain
(`bank_account =~ '6222'`, then the next digit, ...). A personal column (schema `personal`) may
be used in a rule only to test whether it is present, and an explanation shows only that."""

from __future__ import annotations

import datetime as dt

import pytest

from policies.checking import load_and_check
from policies.errors import PolicyDocumentError
from policies.explain import explain
from policies.language import firm_record
from subsidy.masking import PERSONAL_FIELDS
from subsidy.registry.schema import EMPLOYEES, ENTERPRISES
from tests.security._policies import (
    ELIGIBILITY_COLUMN,
    ELIGIBILITY_LINE,
    TECH_ID,
    unchecked,
    with_eligibility,
)

ACCOUNT = "6222020000000001234"


def test_the_schema_marks_the_personal_columns_and_masking_knows_them() -> None:
    assert ENTERPRISES.column("bank_account").personal
    assert EMPLOYEES.column("person_id").personal
    assert not ENTERPRISES.column("name").personal
    personal = {c.name for t in (ENTERPRISES, EMPLOYEES) for c in t.columns if c.personal}
    assert personal <= PERSONAL_FIELDS


@pytest.mark.parametrize(
    ("start", "offset", "name"),
    [
        ("bank_account =~ '6222'", 0, "bank_account"),
        ("not dishonest and bank_account[0] == '6'", len("not dishonest and "), "bank_account"),
        ("bank_account.length > 18", 0, "bank_account"),
        ("(bank_account ?? '') == '6'", 1, "bank_account"),
        ("bank_account == '6222020000000001234'", 0, "bank_account"),
        ("bank_account.starts_with('6')", 0, "bank_account"),
        ("[e for e in employees if e.person_id =~ '^3301'].length > 0", 27, "person_id"),
    ],
)
def test_reading_a_personal_column_is_refused_where_it_is_read(
    start: str, offset: int, name: str
) -> None:
    with pytest.raises(PolicyDocumentError) as refused:
        load_and_check(with_eligibility(start), "t.yaml")
    issue = next(i for i in refused.value.issues if "personal data" in i.message)
    assert issue.field == "eligibility"
    assert (issue.line, issue.column) == (ELIGIBILITY_LINE, ELIGIBILITY_COLUMN + offset)
    assert f"test only whether it is present: {name} != null" in issue.message


@pytest.mark.parametrize(
    "start",
    [
        "bank_account != null and not dishonest",
        "null != bank_account and not dishonest",
        "not (bank_account == null) and not dishonest",
        "[e for e in employees if e.person_id != null].length >= 0 and not dishonest",
    ],
)
def test_testing_its_presence_is_allowed(start: str) -> None:
    load_and_check(with_eligibility(start), "t.yaml")


def test_an_explanation_shows_only_whether_it_is_present() -> None:
    document = unchecked(TECH_ID, "bank_account != null and status == 'active'")
    record = firm_record(
        {"uscc": "91330100MA27XL0001", "bank_account": ACCOUNT, "status": "active"}, []
    )
    found = explain(document, record, dt.date(2020, 6, 30))
    assert {k: r.value for k, r in found.clauses[0].reads.items()} == {"bank_account != null": True}
    assert ACCOUNT[-4:] not in repr(found)
