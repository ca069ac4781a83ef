"""The disbursement workbook read back with openpyxl: every total equals the database's to the
fen, nothing from the data is a formula, accounts are masked, the ledger streams in chunks."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import Engine, event, select
from sqlmodel import Session

from payouts.models import ItemState, PayoutItem, ReconciliationException
from reports import disbursements, queries
from reports.errors import BadPeriod, UnknownPolicy
from reports.queries import Period
from subsidy import db, i18n
from subsidy.ledger.models import LedgerEntry
from subsidy.redemption.models import PolicyBudget
from subsidy.registry.models import Employee, Enterprise
from tests.reports.helpers import HOSTILE_NAMES, Payouts, table_rows

ZERO = Decimal("0.00")
BEIJING = ZoneInfo("Asia/Shanghai")


def yuan(value: Any) -> Decimal:
    """A yuan cell as read back (a float) as the exact Decimal it stands for."""
    assert isinstance(value, int | float), value
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def report(engine: Engine, path: Path, period: Period | None = None, **kw: Any) -> Any:
    """The workbook in English unless told (its words in both languages: test_words.py)."""
    kw.setdefault("language", "en")
    with db.session_scope(engine) as session:
        disbursements.write(session, period or Period(), path, by="finance:test", **kw)
    return openpyxl.load_workbook(path)


class Truth:
    """What the database holds, computed in Python from the rows (an independent oracle)."""

    def __init__(self, engine: Engine, period: Period | None = None) -> None:
        period = period or Period()
        with Session(engine) as session:
            items = list(session.execute(select(PayoutItem)).scalars())
            self.firms = {e.uscc: e for e in session.execute(select(Enterprise)).scalars()}
            staff = list(session.execute(select(Employee)).scalars())
            self.budgets = {b.policy_id: b for b in session.execute(select(PolicyBudget)).scalars()}
            self.ledger = list(session.execute(select(LedgerEntry)).scalars())
            self.mismatches = list(session.execute(select(ReconciliationException)).scalars())
        self.employees: dict[str, int] = defaultdict(int)
        for e in staff:
            if e.leave_date is None:
                self.employees[e.uscc] += 1
        self.items = [i for i in items if self.in_period(i, period)]
        self.all_items = items

    @staticmethod
    def day(item: PayoutItem) -> dt.date:
        return item.paid_on or item.updated_at.astimezone(BEIJING).date()

    def in_period(self, item: PayoutItem, period: Period) -> bool:
        if period.policy_id and item.policy_id != period.policy_id:
            return False
        day = self.day(item)
        return (period.date_from is None or day >= period.date_from) and (
            period.date_to is None or day <= period.date_to
        )

    def group(self, item: PayoutItem, by: str) -> str:
        firm = self.firms.get(item.uscc)
        if by == "policy":
            return item.policy_id
        if by == "district":
            return firm.district if firm else "(not in registry)"
        return firm.industry[0] if firm else "?"

    def lines(self, by: str) -> dict[str, tuple[Decimal, Decimal, int, int, int]]:
        paid: dict[str, Decimal] = defaultdict(lambda: ZERO)
        returned: dict[str, Decimal] = defaultdict(lambda: ZERO)
        items: dict[str, int] = defaultdict(int)
        firms: dict[str, set[str]] = defaultdict(set)
        for i in self.items:
            key = self.group(i, by)
            if i.state == ItemState.PAID:
                paid[key] += i.amount
                items[key] += 1
                firms[key].add(i.uscc)
            elif i.state == ItemState.RETURNED:
                returned[key] += i.amount
        keys = {self.group(i, by) for i in self.items}  # a group with any item in the period
        return {
            k: (
                paid[k],
                returned[k],
                items[k],
                len(firms[k]),
                sum(self.employees[u] for u in firms[k]),
            )
            for k in keys
        }

    def total(self) -> tuple[Decimal, Decimal, int, int, int]:
        paid = [i for i in self.items if i.state == ItemState.PAID]
        firms = {i.uscc for i in paid}
        return (
            sum((i.amount for i in paid), ZERO),
            sum((i.amount for i in self.items if i.state == ItemState.RETURNED), ZERO),
            len(paid),
            len(firms),
            sum(self.employees[u] for u in firms),
        )


def test_summary_totals_equal_the_database_to_the_fen(
    engine: Engine, payouts: Payouts, tmp_path: Path
) -> None:
    wb = report(engine, tmp_path / "r.xlsx")
    truth = Truth(engine)
    summary = wb["Summary"]
    _, rows, total = table_rows(summary, "ByPolicy")
    assert [r[0] for r in rows] == ["rep-a", "rep-b", "rep-c"]
    expected = truth.lines("policy")
    for pid, _title, budget, reserved, paid, returned, remaining, firms, employees in rows:
        b = truth.budgets[pid]
        e = expected.get(pid, (ZERO, ZERO, 0, 0, 0))
        assert (yuan(budget), yuan(reserved), yuan(remaining)) == (
            b.budget,
            b.reserved,
            b.budget - b.reserved,
        )
        assert (yuan(paid), yuan(returned), firms, employees) == (e[0], e[1], e[3], e[4])
    t = truth.total()
    assert total[0] == "Total"
    assert yuan(total[2]) == sum((b.budget for b in truth.budgets.values()), ZERO)
    assert yuan(total[3]) == sum((b.reserved for b in truth.budgets.values()), ZERO)
    assert (yuan(total[4]), yuan(total[5]), total[7], total[8]) == (t[0], t[1], t[3], t[4])
    assert t[0] == Decimal("78011.00")  # 28 x 1,000 + 20 x 2,500.55, as the fixture paid

    for table, by in (("ByDistrict", "district"), ("BySection", "section")):
        _, rows, total = table_rows(summary, table)
        expected = truth.lines(by)
        got = {r[0]: (yuan(r[1]), yuan(r[2]), r[3], r[4], r[5]) for r in rows}
        assert got == expected
        assert (yuan(total[1]), yuan(total[2]), total[3], total[4], total[5]) == t
    _, sections, _ = table_rows(summary, "BySection")
    assert all(r[6] for r in sections)  # every demo section has its GB/T 4754 name

    _, days, total = table_rows(summary, "ByDay")
    by_day: dict[dt.date, Decimal] = defaultdict(lambda: ZERO)
    for i in truth.items:
        if i.state == ItemState.PAID:
            assert i.paid_on is not None
            by_day[i.paid_on] += i.amount
    assert [(r[0].date(), yuan(r[1])) for r in days] == sorted(by_day.items())
    running = ZERO
    for r in days:
        running += yuan(r[1])
        assert yuan(r[2]) == running
    assert yuan(total[1]) == t[0]


def test_ledger_lists_every_item_and_adds_up(
    engine: Engine, payouts: Payouts, tmp_path: Path
) -> None:
    wb = report(engine, tmp_path / "r.xlsx")
    truth = Truth(engine)
    header, rows, _ = table_rows(wb["Ledger"], "Ledger")
    assert header[:3] == ["Date", "Batch", "Item"]
    assert wb["Ledger"].freeze_panes == "A2"
    assert len(rows) == len(truth.items)
    by_ref = {f"QQ-P{i.id:010d}": i for i in truth.items}
    for row in rows:
        item = by_ref[row[2]]
        assert row[0].date() == Truth.day(item)
        assert (row[3], row[4], row[5], row[8], row[13]) == (
            item.policy_id,
            item.uscc,
            item.payee_name.replace("\x07", "\ufffd"),
            "Industrial and Commercial Bank of China",
            i18n.state("en", "item", item.state),
        )
        assert (yuan(row[10]), yuan(row[11]), yuan(row[12])) == (item.amount, item.offset, item.net)
    paid_cells = sum((yuan(r[10]) for r in rows if r[13] == "paid"), ZERO)
    assert paid_cells == truth.total()[0]
    assert sum((yuan(r[12]) for r in rows), ZERO) == sum((i.net for i in truth.items), ZERO)
    for cell in wb["Ledger"]["K"][1 : len(rows) + 1]:
        assert cell.number_format == "#,##0.00", (cell.coordinate, cell.value)


def test_budget_and_exceptions_equal_the_database(
    engine: Engine, payouts: Payouts, tmp_path: Path
) -> None:
    wb = report(engine, tmp_path / "r.xlsx")
    truth = Truth(engine)
    _, rows, total = table_rows(wb["Budget"], "Budget")
    for row in rows:
        pid = row[0]
        b = truth.budgets[pid]
        paid = sum(
            (i.amount for i in truth.all_items if i.policy_id == pid and i.state == "paid"), ZERO
        )
        balance: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for entry in truth.ledger:
            if entry.policy_id == pid:
                balance[entry.target] += entry.amount
                balance[entry.source] -= entry.amount
        assert [yuan(v) for v in (row[3], row[4], row[5], row[7])] == [
            b.budget,
            b.reserved,
            b.budget - b.reserved,
            paid,
        ]
        assert [yuan(v) for v in row[9:13]] == [
            balance["reserved"],
            balance["payable"],
            balance["paid"],
            balance["receivable"],
        ]
        assert Decimal(repr(row[6])) == (b.reserved / b.budget).quantize(Decimal("0.0001"))
    assert yuan(total[3]) == sum((b.budget for b in truth.budgets.values()), ZERO)
    assert yuan(total[11]) == sum(
        (e.amount for e in truth.ledger if e.target == "paid"), ZERO
    ) - sum((e.amount for e in truth.ledger if e.source == "paid"), ZERO)

    exceptions = wb["Exceptions"]
    _, rows, total = table_rows(exceptions, "ReturnedFailed")
    bad = [i for i in truth.items if i.state in ("returned", "failed")]
    assert sorted(r[1] for r in rows) == sorted(f"QQ-P{i.id:010d}" for i in bad)
    assert yuan(total[7]) == sum((i.amount for i in bad), ZERO)
    assert total[1] == f"{len(bad):,} items"
    assert {r[10] for r in rows} == {"R01", "T02"}
    assert {r[8] for r in rows} == {"returned", "failed, will retry"}
    _, rows, total = table_rows(wb["Mismatches"], "Mismatches")
    assert len(rows) == len(truth.mismatches) == 3
    assert yuan(total[8]) == sum((m.amount for m in truth.mismatches if m.amount), ZERO)
    assert yuan(total[9]) == sum((m.expected for m in truth.mismatches if m.expected), ZERO)
    assert yuan(total[10]) == Decimal("-0.01")
    mismatch = next(r for r in rows if r[3] == "amount differs")
    assert yuan(mismatch[10]) == Decimal("-0.01")
    resolved = next(r for r in rows if r[12] is not None)
    assert resolved[12] == dt.datetime(2026, 3, 22, 18, 0)  # 10:00 UTC, shown in Beijing time
    assert resolved[13] == "Finance lin"


def test_the_period_and_the_policy_select_items_by_their_day(
    engine: Engine, payouts: Payouts, tmp_path: Path
) -> None:
    """Paid items by value date; the others by the day of their last change in Beijing (the
    fixture changes them at 23:30 and 00:30 there, on either side of its midnight)."""
    for n, period in enumerate(
        [
            Period(dt.date(2026, 3, 14), dt.date(2026, 3, 14)),
            Period(dt.date(2026, 3, 15), None),
            Period(None, dt.date(2026, 3, 5), "rep-b"),
            Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31), "rep-c"),
        ]
    ):
        wb = report(engine, tmp_path / f"r{n}.xlsx", period)
        truth = Truth(engine, period)
        _, rows, _ = table_rows(wb["Ledger"], "Ledger")
        assert sorted(r[2] for r in rows) == sorted(f"QQ-P{i.id:010d}" for i in truth.items)
        _, _, total = table_rows(wb["Summary"], "ByDistrict")
        assert (yuan(total[1]), yuan(total[2]), total[3], total[4], total[5]) == truth.total()
        assert wb.properties.subject == f"Payouts: {period.described()}"
        assert wb.custom_doc_props["policy"].value == (period.policy_id or None) or (
            period.policy_id is None
        )
    assert Truth(engine, Period(dt.date(2026, 3, 14), dt.date(2026, 3, 14))).items


def test_no_cell_is_a_formula_and_accounts_are_masked(
    engine: Engine, payouts: Payouts, tmp_path: Path
) -> None:
    path = tmp_path / "r.xlsx"
    wb = report(engine, path)
    truth = Truth(engine)
    texts = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
    for name in HOSTILE_NAMES:
        assert name.replace("\x07", "\ufffd") in texts
    with zipfile.ZipFile(path) as archive:
        raw = "".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        assert all(b"<f>" not in archive.read(n) for n in sheets)
    for item in truth.items:
        assert item.account not in raw
        assert f"***************{item.account[-4:]}" in texts
    for firm in truth.firms.values():
        if firm.bank_account:
            assert firm.bank_account not in raw


def test_properties_charts_and_layout(engine: Engine, payouts: Payouts, tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    when = dt.datetime(2026, 3, 31, 16, 0, tzinfo=dt.UTC)
    period = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    wb = report(engine, path, period, now=when)
    assert wb.sheetnames == ["Summary", "Ledger", "Budget", "Exceptions", "Mismatches"]
    p = wb.properties
    assert p.title == "Qinqing disbursement report"
    assert p.creator == "finance:test"
    assert p.subject == "Payouts: 2026-03-01 to 2026-03-31, all policies"
    assert "2026-04-01 00:00:00 (Asia/Shanghai)" in p.description  # 16:00 UTC
    assert "finance:test" in p.description
    assert p.created == dt.datetime(2026, 3, 31, 16, 0)
    custom = {c.name: c.value for c in wb.custom_doc_props}
    assert custom["period_from"] == "2026-03-01"
    assert custom["report"] == "disbursements"
    with zipfile.ZipFile(path) as archive:
        charts = sorted(n for n in archive.namelist() if n.startswith("xl/charts/chart"))
        assert len(charts) == 2
        xml = "".join(archive.read(n).decode() for n in charts)
    assert "<barChart>" in xml
    assert "<lineChart>" in xml
    _, districts, _ = table_rows(wb["Summary"], "ByDistrict")
    span = f"$A$19:$A${18 + len(districts)}"  # the district names, as text categories
    assert f"<strRef><f>'Summary'!{span}</f></strRef>" in xml
    for ws in wb.worksheets:
        widths = [d.width for d in ws.column_dimensions.values() if d.width]
        assert widths, ws.title
        assert all(8 <= w <= 60 for w in widths)
    for title in ("Ledger", "Budget"):
        ws = wb[title]
        (table,) = ws.tables.values()
        assert ws.freeze_panes == "A2"
        assert ws.print_title_rows == "$1:$1"
        assert table.autoFilter.ref == table.ref
    assert wb["Summary"].freeze_panes == "A4"  # below the report's name, period and maker
    assert wb["Exceptions"].print_title_rows == "$1:$2"  # its title and the table's header
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape"
        assert ws.page_setup.paperSize == 9  # A4
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        header = "Qinqing disbursement report · 2026-03-01 to 2026-03-31, all policies · &A"
        assert ws.oddHeader.center.text == header
        assert ws.oddFooter.center.text == "&P / &N"
    summary = wb["Summary"]
    (brk,) = summary.row_breaks.brk
    anchors = [chart.anchor._from.row + 1 for chart in summary._charts]
    assert len(anchors) == 2
    assert all(row > brk.id for row in anchors)  # the charts begin a page of their own


def test_an_empty_database_gives_an_empty_report(engine: Engine, tmp_path: Path) -> None:
    wb = report(engine, tmp_path / "r.xlsx")
    _, rows, total = table_rows(wb["Summary"], "ByPolicy")
    assert rows == []
    assert total[4] == 0
    assert wb["Ledger"]["A2"].value == "(none)"
    zh = report(engine, tmp_path / "zh.xlsx", language="zh")
    assert zh["明细"]["A2"].value == "（无）"


def test_refusals_name_the_field(engine: Engine, payouts: Payouts, tmp_path: Path) -> None:
    with (
        db.session_scope(engine) as session,
        pytest.raises(BadPeriod, match="starts") as bad,
    ):
        disbursements.write(
            session, Period(dt.date(2026, 4, 1), dt.date(2026, 3, 1)), tmp_path / "x.xlsx", by="t"
        )
    assert bad.value.field == "from"
    with (
        db.session_scope(engine) as session,
        pytest.raises(UnknownPolicy, match="nope") as unknown,
    ):
        disbursements.write(session, Period(policy_id="nope"), tmp_path / "x.xlsx", by="t")
    assert unknown.value.field == "policy"
    assert not (tmp_path / "x.xlsx").exists()


def test_the_ledger_is_read_in_chunks_as_it_is_written(engine: Engine, payouts: Payouts) -> None:
    """The ledger generator runs one query per chunk, only when the writer asks for more."""
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with Session(engine) as session:
            rows = queries.ledger_rows(session, Period(), chunk=10)
            assert statements == []  # nothing read before the first row is asked for
            first = [next(rows) for _ in range(10)]
            assert len(statements) == 1
            next(rows)
            assert len(statements) == 2
            rest = list(rows)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    total = len(first) + 1 + len(rest)
    assert len(statements) == total // 10 + 1
    assert all("LIMIT" in s for s in statements)
    refs = [r[2] for r in [*first, *rest]]
    assert refs == sorted(refs)


def test_a_report_sees_one_snapshot(engine: Engine, payouts: Payouts, tmp_path: Path) -> None:
    """A payment recorded while the report is being written is in neither its totals nor its
    ledger (SQLite: a deferred read transaction; PostgreSQL: REPEATABLE READ)."""
    written: list[int] = []

    class Meddler:
        def stage(self, name: str, total: int | None = None) -> None:
            if name == "writing the ledger":
                with db.session_scope(engine) as other:
                    item = other.get(PayoutItem, 1)
                    assert item is not None
                    item.amount += Decimal("1000.00")
                written.append(1)

        def advance(self, units: int) -> None:
            pass

    wb = report(engine, tmp_path / "r.xlsx", progress=Meddler())
    assert written
    _, rows, _ = table_rows(wb["Ledger"], "Ledger")
    first = next(r for r in rows if r[2] == "QQ-P0000000001")
    with Session(engine) as session:
        item = session.get(PayoutItem, 1)
        assert item is not None
        assert yuan(first[10]) == item.amount - Decimal("1000.00")
