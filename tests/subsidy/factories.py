"""Small valid registry rows, and files made from them, for tests that break one thing at a time."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl

from subsidy.registry.schema import EMPLOYEES, ENTERPRISES, Table
from subsidy.registry.uscc import check_character

Row = dict[str, Any]


def make_uscc(serial: int, region: str = "330106") -> str:
    """A valid code: enterprise (9 1), the region, a serial as organisation code, the check."""
    first17 = f"91{region}{serial:09d}"
    return first17 + check_character(first17)


def enterprise(serial: int, **overrides: Any) -> Row:
    row: Row = {
        "uscc": make_uscc(serial),
        "name": f"杭州测试{serial}科技有限公司",
        "district": "西湖区",
        "industry": "I65",
        "established": "2015-03-01",
        "size": "small",
        "status": "active",
        "tax_rating": "B",
        "dishonest": "false",
        "high_tech": "true",
        "revenue": "1000000.00",
        "tax_paid": "50000.00",
        "ui_premium": "12000.50",
        "bank_account": "6222020000000000001",
    }
    return row | overrides


def employee(serial: int, firm: int = 1, **overrides: Any) -> Row:
    row: Row = {
        "person_id": f"P{serial:015d}",
        "uscc": make_uscc(firm),
        "hire_date": "2019-05-01",
        "leave_date": "",
        "insured": "true",
        "monthly_wage": "6500.00",
        "local_hukou": "false",
        "birth_date": "1990-07-15",
    }
    return row | overrides


def write_csv(path: Path, rows: Sequence[Row], table: Table | None = None) -> Path:
    names = table.names if table else list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=names)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: Sequence[Row], table: Table) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(table.names)
    for row in rows:
        sheet.append([row.get(n) if row.get(n) != "" else None for n in table.names])
    workbook.save(path)
    return path


def firms(count: int) -> list[Row]:
    return [enterprise(i) for i in range(1, count + 1)]


def staff(count: int, firm_count: int) -> list[Row]:
    return [employee(i, firm=(i % firm_count) + 1) for i in range(1, count + 1)]


__all__ = ["EMPLOYEES", "ENTERPRISES"]
