"""The disbursement report: what was paid, to whom, from which budget, and what went wrong.

Sheets: Summary (per policy, district, industry section and day, with charts), Ledger (one row
per payout item, streamed; "Ledger 2"... past a million rows), Budget (utilisation and ledger
balances per policy), Exceptions (returned and failed items, reconciliation mismatches).

The workbook is read in one database snapshot (`queries.begin_snapshot`), so its totals and its
ledger agree with each other and with the database at one instant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlmodel import Session

from policies import repository as policy_repository
from reports import _sheets as sheets
from reports import queries
from reports._sheets import Column, Kind
from reports.errors import BadPeriod, UnknownPolicy
from reports.industries import section_name
from reports.queries import Line, Period
from subsidy.progress import NO_PROGRESS, Progress

TITLE = "Qinqing disbursement report"
PERIOD_NOTE = (
    "Paid, returned, firms and employees: the payout items of the period, each dated by its value "
    "date, or for an item the bank has not paid by the UTC day of its last change. Budget, "
    "reserved and remaining: as at the report's time. Amounts in yuan."
)
FIRMS_NOTE = (
    "Employees covered: the current registry's employees (not left) of the firms paid. A firm "
    "paid under several policies counts once in a total."
)

POLICY_COLUMNS = (
    Column("Policy"),
    Column("Title"),
    Column("Budget", Kind.YUAN),
    Column("Reserved", Kind.YUAN),
    Column("Paid", Kind.YUAN),
    Column("Returned", Kind.YUAN),
    Column("Remaining", Kind.YUAN),
    Column("Firms paid", Kind.INTEGER),
    Column("Employees covered", Kind.INTEGER),
)
DISTRICT_COLUMNS = (
    Column("District"),
    Column("Paid", Kind.YUAN),
    Column("Returned", Kind.YUAN),
    Column("Items paid", Kind.INTEGER),
    Column("Firms paid", Kind.INTEGER),
    Column("Employees covered", Kind.INTEGER),
)
SECTION_COLUMNS = (
    Column("Section"),
    Column("Paid", Kind.YUAN),
    Column("Returned", Kind.YUAN),
    Column("Items paid", Kind.INTEGER),
    Column("Firms paid", Kind.INTEGER),
    Column("Employees covered", Kind.INTEGER),
    Column("Industry"),
)
DAY_COLUMNS = (
    Column("Day", Kind.DATE),
    Column("Paid", Kind.YUAN),
    Column("Cumulative paid", Kind.YUAN),
    Column("Items paid", Kind.INTEGER),
)
LEDGER_COLUMNS = (
    Column("Date", Kind.DATE, 11),
    Column("Batch", width=13),
    Column("Item", width=15),
    Column("Policy", width=22),
    Column("USCC", width=21),
    Column("Payee", width=36),
    Column("District", width=12),
    Column("Industry", width=9),
    Column("Bank", width=8),
    Column("Account", width=22),
    Column("Amount", Kind.YUAN, 16),
    Column("Offset", Kind.YUAN, 12),
    Column("Net", Kind.YUAN, 16),
    Column("State", width=10),
    Column("Bank reference", width=20),
)
BUDGET_COLUMNS = (
    Column("Policy", width=22),
    Column("Title", width=40),
    Column("State", width=10),
    Column("Budget", Kind.YUAN, 18),
    Column("Reserved", Kind.YUAN, 18),
    Column("Remaining", Kind.YUAN, 18),
    Column("Reserved of budget", Kind.PERCENT, 12),
    Column("Paid to date", Kind.YUAN, 18),
    Column("Paid of budget", Kind.PERCENT, 12),
    Column("Ledger: reserved", Kind.YUAN, 18),
    Column("Ledger: payable", Kind.YUAN, 18),
    Column("Ledger: paid", Kind.YUAN, 18),
    Column("Ledger: receivable", Kind.YUAN, 18),
)
EXCEPTION_COLUMNS = (
    Column("Date", Kind.DATE, 11),
    Column("Item", width=15),
    Column("Policy", width=22),
    Column("USCC", width=21),
    Column("Payee", width=36),
    Column("District", width=12),
    Column("Account", width=22),
    Column("Amount", Kind.YUAN, 16),
    Column("State", width=10),
    Column("Attempts", Kind.INTEGER, 9),
    Column("Reason code", width=12),
    Column("Reason", width=40),
    Column("Bank reference", width=20),
)
MISMATCH_COLUMNS = (
    Column("Found at (UTC)", Kind.DATETIME),
    Column("Statement"),
    Column("Line", Kind.INTEGER),
    Column("Kind"),
    Column("Item"),
    Column("Policy"),
    Column("USCC"),
    Column("Bank reference"),
    Column("Amount", Kind.YUAN),
    Column("Expected", Kind.YUAN),
    Column("Difference", Kind.YUAN),
    Column("Detail"),
    Column("Resolved at (UTC)", Kind.DATETIME),
    Column("Resolved by"),
)


@dataclass(frozen=True)
class Written:
    path: Path
    ledger_rows: int
    sheets: list[str]


def check(session: Session, period: Period) -> None:
    """Refuse a period that cannot be reported, naming the option at fault."""
    if period.date_from and period.date_to and period.date_from > period.date_to:
        raise BadPeriod(field="from", start=period.date_from, end=period.date_to)
    if period.policy_id is not None and policy_repository.get(session, period.policy_id) is None:
        raise UnknownPolicy(field="policy", policy_id=period.policy_id)


def write(
    session: Session,
    period: Period,
    out: Path,
    *,
    by: str,
    progress: Progress = NO_PROGRESS,
    now: dt.datetime | None = None,
    sheet_rows: int | None = None,
) -> Written:
    """Write the report of `period` to `out` (an .xlsx file), as seen by one snapshot."""
    queries.begin_snapshot(session)
    check(session, period)
    now = now or dt.datetime.now(dt.UTC)
    progress.stage("summarising")
    summary = queries.summary(session, period)
    budgets = queries.budgets(session, period.policy_id)
    book = sheets.Book(_properties(period, by, now, summary.total.items))
    try:
        _summary(book, session, period, summary, budgets, by, now)
        progress.stage("writing the ledger", total=summary.total.items)
        ledger = sheets.stream_table(
            book,
            "Ledger",
            "Ledger",
            LEDGER_COLUMNS,
            queries.ledger_rows(session, period),
            progress,
            sheet_rows,
        )
        progress.stage("writing budgets and exceptions")
        _budget(book, budgets)
        _exceptions(book, session, period)
        progress.stage("saving the workbook")
        book.save(out)
    except BaseException:
        book.discard()
        raise
    return Written(out, sum(span.rows for span in ledger), book.titles())


def _properties(period: Period, by: str, now: dt.datetime, rows: int) -> sheets.Properties:
    stamp = f"{now.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"
    return sheets.Properties(
        title=TITLE,
        subject=f"Payouts: {period.described()}",
        creator=by,
        description=(
            f"Disbursements for {period.described()}; generated {stamp} by {by}; "
            f"{rows:,} payout items. {PERIOD_NOTE}"
        ),
        keywords="qinqing; disbursements; payouts; yuan",
        custom={
            "report": "disbursements",
            "period_from": str(period.date_from or ""),
            "period_to": str(period.date_to or ""),
            "policy": period.policy_id or "",
            "generated_at": stamp,
            "generated_by": by,
            "ledger_rows": str(rows),
        },
        created=now,
    )


def heading(sheet: sheets.Sheet, title: str, period: Period, by: str, now: dt.datetime) -> None:
    sheet.line(title, bold=True)
    sheet.line(f"Period: {period.described()}")
    sheet.line(f"Generated {now.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC by {by}")


def _summary(
    book: sheets.Book,
    session: Session,
    period: Period,
    summary: queries.Summary,
    found: list[queries.Budget],
    by: str,
    now: dt.datetime,
) -> None:
    budgets = {b.policy_id: b for b in found}
    per_policy, total = summary.policy, summary.total
    policy_ids = sorted(set(budgets) | set(per_policy))
    policy_rows = []
    for pid in policy_ids:
        line = per_policy.get(pid, Line(pid))
        budget = budgets.get(pid)
        policy_rows.append(
            (
                pid,
                budget.title if budget else "",
                budget.budget if budget else None,
                budget.reserved if budget else None,
                line.paid,
                line.returned,
                budget.remaining if budget else None,
                line.firms_paid,
                line.employees_covered,
            )
        )
    budget_total = sum((b.budget for b in budgets.values()), queries.ZERO)
    reserved_total = sum((b.reserved for b in budgets.values()), queries.ZERO)
    policy_total = (
        "Total",
        None,
        budget_total,
        reserved_total,
        total.paid,
        total.returned,
        budget_total - reserved_total,
        total.firms_paid,
        total.employees_covered,
    )
    districts = sorted(summary.district.values(), key=_by_paid)
    district_rows = [_group_row(line) for line in districts]
    sections = sorted(summary.section.values(), key=lambda x: x.key)
    section_rows = [(*_group_row(line), section_name(line.key)) for line in sections]
    days = queries.paid_by_day(session, period)
    day_rows, running = [], queries.ZERO
    for day in days:
        running += day.paid
        day_rows.append((day.day, day.paid, running, day.items))
    group_total = ("Total", total.paid, total.returned, total.items_paid, total.firms_paid,
                   total.employees_covered)  # fmt: skip
    tables: list[tuple[Sequence[Column], Sequence[Sequence[Any]]]] = [
        (POLICY_COLUMNS, [*policy_rows, policy_total]),
        (DISTRICT_COLUMNS, [*district_rows, group_total]),
        (SECTION_COLUMNS, [*section_rows, (*group_total, None)]),
        (DAY_COLUMNS, day_rows),
    ]
    sheet = book.sheet("Summary", sheets.fitted_widths(tables))
    heading(sheet, TITLE, period, by, now)
    sheet.line(PERIOD_NOTE)
    sheet.line(FIRMS_NOTE)
    sheet.blank()
    sheet.line("By policy", bold=True)
    sheet.table("ByPolicy", POLICY_COLUMNS, policy_rows, policy_total)
    sheet.blank()
    sheet.line("By district", bold=True)
    by_district = sheet.table("ByDistrict", DISTRICT_COLUMNS, district_rows, group_total)
    sheet.blank()
    sheet.line("By industry section (GB/T 4754-2017)", bold=True)
    sheet.table("BySection", SECTION_COLUMNS, section_rows, (*group_total, None))
    sheet.blank()
    sheet.line("By day (paid items by value date)", bold=True)
    day_total = ("Total", total.paid, total.paid, total.items_paid)
    by_day = sheet.table("ByDay", DAY_COLUMNS, day_rows, day_total)
    anchor = sheets.column_letter(len(POLICY_COLUMNS) + 2)
    sheet.bar_chart("Paid by district", by_district, 1, [2], f"{anchor}9")
    sheet.line_chart("Cumulative paid by day", by_day, 1, 3, f"{anchor}28")


def _by_paid(line: Line) -> tuple[Decimal, str]:
    return (-line.paid, line.key)


def _group_row(line: Line) -> tuple[Any, ...]:
    return (
        line.key,
        line.paid,
        line.returned,
        line.items_paid,
        line.firms_paid,
        line.employees_covered,
    )


def _budget(book: sheets.Book, found: list[queries.Budget]) -> None:
    rows = [
        (
            b.policy_id,
            b.title,
            b.state,
            b.budget,
            b.reserved,
            b.remaining,
            _share(b.reserved, b.budget),
            b.paid_to_date,
            _share(b.paid_to_date, b.budget),
            *(b.balances[account] for account in queries.ACCOUNTS),
        )
        for b in found
    ]
    budget = sum((b.budget for b in found), queries.ZERO)
    reserved = sum((b.reserved for b in found), queries.ZERO)
    paid = sum((b.paid_to_date for b in found), queries.ZERO)
    total = (
        "Total",
        None,
        None,
        budget,
        reserved,
        budget - reserved,
        _share(reserved, budget),
        paid,
        _share(paid, budget),
        *(sum((b.balances[a] for b in found), queries.ZERO) for a in queries.ACCOUNTS),
    )
    widths = [c.width or 12 for c in BUDGET_COLUMNS]
    sheet = book.sheet("Budget", widths, freeze="A2")
    sheet.table("Budget", BUDGET_COLUMNS, rows, total)
    sheet.blank()
    sheet.line(
        "As at the report's time, whatever the period. Reserved: promised to redemptions "
        "(held, approved, being paid or paid); remaining = budget - reserved. Ledger: each "
        "account's balance (what entered it minus what left it)."
    )


def _share(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part / whole).quantize(Decimal("0.0001")) if whole else None


def _exceptions(book: sheets.Book, session: Session, period: Period) -> None:
    widths = [max(a.width or 12, 12) for a in EXCEPTION_COLUMNS]
    widths[0] = 19  # the mismatches' timestamps share the first column
    sheet = book.sheet("Exceptions", widths, freeze="A3")
    sheet.line("Returned and failed payments", bold=True)
    count, amount = queries.exception_totals(session, period)
    total = ("Total", f"{count:,} items", *([None] * 5), amount, *([None] * 5))
    _capped(sheet, "ReturnedFailed", EXCEPTION_COLUMNS, queries.exception_items(session, period),
            total, count)  # fmt: skip
    sheet.blank()
    sheet.line("Reconciliation mismatches", bold=True)
    n, amount, expected, difference = queries.mismatch_totals(session, period)
    mismatch_total = ("Total", f"{n:,} lines", *([None] * 6), amount, expected, difference,
                      None, None, None)  # fmt: skip
    _capped(sheet, "Mismatches", MISMATCH_COLUMNS, queries.mismatches(session, period),
            mismatch_total, n)  # fmt: skip


def _capped(
    sheet: sheets.Sheet,
    name: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    total: Sequence[Any],
    count: int,
) -> None:
    """A table of at most a sheet's worth of rows; the rest is counted, not listed."""
    limit = sheets.SHEET_ROWS // 2
    sheet.table(name, columns, _first(rows, limit), total)
    if count > limit:
        sheet.line(f"{count - limit:,} more not listed here; the Ledger has every item.")


def _first(rows: Iterable[Sequence[Any]], n: int) -> Iterable[Sequence[Any]]:
    for i, row in enumerate(rows):
        if i == n:
            return
        yield row
