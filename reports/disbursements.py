"""The disbursement report: what was paid, to whom, from which budget, and what went wrong.

Sheets: Summary (per policy, district, industry section and day, with charts), Ledger (one row
per payout item, streamed; "Ledger 2"... past a million rows), Budget (utilisation and ledger
balances per policy), Exceptions (returned and failed items), Mismatches (reconciliation).
Every word in it is in the language asked for (Chinese by default; `reports.words`), the sheet
names too; policies by their title in that language.

The workbook is read in one database snapshot (`queries.begin_snapshot`), so its totals and its
ledger agree with each other and with the database at one instant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
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
from reports.queries import Line, Period
from reports.words import Words
from subsidy.i18n import DEFAULT, Language
from subsidy.progress import NO_PROGRESS, Progress

TITLE = "workbook.disbursements.title"
NOTES = (
    "workbook.note.items_dated",
    "workbook.note.items_unpaid",
    "workbook.note.budget_now",
    "workbook.note.employees",
    "workbook.note.firms_once",
)

SECTION_NAME_WIDTH = 24
"""A section's name may be long (in English above all): it runs on into the empty cells to its
right rather than widening a column the tables above share, and with it the printed page."""
POLICY_COLUMNS = (
    Column("workbook.col.policy"),
    Column("workbook.col.title"),
    Column("workbook.col.budget", Kind.YUAN),
    Column("workbook.col.reserved", Kind.YUAN),
    Column("workbook.col.paid", Kind.YUAN),
    Column("workbook.col.returned", Kind.YUAN),
    Column("workbook.col.remaining", Kind.YUAN),
    Column("workbook.col.firms_paid", Kind.INTEGER),
    Column("workbook.col.employees_covered", Kind.INTEGER),
)
DISTRICT_COLUMNS = (
    Column("workbook.col.district"),
    Column("workbook.col.paid", Kind.YUAN),
    Column("workbook.col.returned", Kind.YUAN),
    Column("workbook.col.items_paid", Kind.INTEGER),
    Column("workbook.col.firms_paid", Kind.INTEGER),
    Column("workbook.col.employees_covered", Kind.INTEGER),
)
SECTION_COLUMNS = (
    Column("workbook.col.section"),
    Column("workbook.col.paid", Kind.YUAN),
    Column("workbook.col.returned", Kind.YUAN),
    Column("workbook.col.items_paid", Kind.INTEGER),
    Column("workbook.col.firms_paid", Kind.INTEGER),
    Column("workbook.col.employees_covered", Kind.INTEGER),
    Column("workbook.col.industry", width=SECTION_NAME_WIDTH),
)
DAY_COLUMNS = (
    Column("workbook.col.day", Kind.DATE),
    Column("workbook.col.paid", Kind.YUAN),
    Column("workbook.col.cumulative_paid", Kind.YUAN),
    Column("workbook.col.items_paid", Kind.INTEGER),
)
LEDGER_COLUMNS = (
    Column("workbook.col.date", Kind.DATE, 11),
    Column("workbook.col.batch", width=13),
    Column("workbook.col.item", width=15),
    Column("workbook.col.policy", width=22),
    Column("workbook.col.uscc", width=21),
    Column("workbook.col.payee", width=36),
    Column("workbook.col.district", width=12),
    Column("workbook.col.industry", width=9),
    Column("workbook.col.bank", width=16),
    Column("workbook.col.account", width=22),
    Column("workbook.col.amount", Kind.YUAN, 16),
    Column("workbook.col.offset", Kind.YUAN, 12),
    Column("workbook.col.net", Kind.YUAN, 16),
    Column("workbook.col.state", width=12),
    Column("workbook.col.bank_reference", width=20),
)
BUDGET_COLUMNS = (
    Column("workbook.col.policy", width=22),
    Column("workbook.col.title", width=40),
    Column("workbook.col.state", width=12),
    Column("workbook.col.budget", Kind.YUAN, 18),
    Column("workbook.col.reserved", Kind.YUAN, 18),
    Column("workbook.col.remaining", Kind.YUAN, 18),
    Column("workbook.col.reserved_of_budget", Kind.PERCENT, 12),
    Column("workbook.col.paid_to_date", Kind.YUAN, 18),
    Column("workbook.col.paid_of_budget", Kind.PERCENT, 12),
    Column("workbook.col.ledger_reserved", Kind.YUAN, 18),
    Column("workbook.col.ledger_payable", Kind.YUAN, 18),
    Column("workbook.col.ledger_paid", Kind.YUAN, 18),
    Column("workbook.col.ledger_receivable", Kind.YUAN, 18),
)
EXCEPTION_COLUMNS = (
    Column("workbook.col.date", Kind.DATE, 11),
    Column("workbook.col.item", width=15),
    Column("workbook.col.policy", width=22),
    Column("workbook.col.uscc", width=21),
    Column("workbook.col.payee", width=36),
    Column("workbook.col.district", width=12),
    Column("workbook.col.account", width=22),
    Column("workbook.col.amount", Kind.YUAN, 16),
    Column("workbook.col.state", width=16),
    Column("workbook.col.attempts", Kind.INTEGER, 9),
    Column("workbook.col.reason_code", width=12),
    Column("workbook.col.reason", width=40),
    Column("workbook.col.bank_reference", width=20),
)
MISMATCH_COLUMNS = (
    Column("workbook.col.found_at", Kind.DATETIME, 19),
    Column("workbook.col.statement", width=30),
    Column("workbook.col.line", Kind.INTEGER, 8),
    Column("workbook.col.kind", width=18),
    Column("workbook.col.item", width=15),
    Column("workbook.col.policy", width=22),
    Column("workbook.col.uscc", width=21),
    Column("workbook.col.bank_reference", width=16),
    Column("workbook.col.amount", Kind.YUAN, 14),
    Column("workbook.col.expected", Kind.YUAN, 14),
    Column("workbook.col.difference", Kind.YUAN, 12),
    Column("workbook.col.detail", width=30),
    Column("workbook.col.resolved_at", Kind.DATETIME, 19),
    Column("workbook.col.resolved_by", width=14),
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
    language: Language = DEFAULT,
    progress: Progress = NO_PROGRESS,
    now: dt.datetime | None = None,
    sheet_rows: int | None = None,
) -> Written:
    """Write the report of `period` to `out` (an .xlsx file) in `language`, as seen by one
    snapshot."""
    queries.begin_snapshot(session)
    check(session, period)
    now = now or dt.datetime.now(dt.UTC)
    words = Words(language)
    progress.stage("summarising")
    summary = queries.summary(session, period)
    budgets = queries.budgets(session, period.policy_id)
    page = sheets.Page(f"{words(TITLE)} · {words.period(period)}", words("workbook.none"))
    book = sheets.Book(_properties(words, period, by, now, summary.total.items), page)
    try:
        _summary(book, words, session, period, summary, budgets, by, now)
        progress.stage("writing the ledger", total=summary.total.items)
        ledger = sheets.stream_table(
            book,
            words("workbook.sheet.ledger"),
            "Ledger",
            words.columns(LEDGER_COLUMNS),
            _ledger(words, queries.ledger_rows(session, period)),
            progress,
            sheet_rows,
        )
        progress.stage("writing budgets and exceptions")
        _budget(book, words, budgets)
        _exceptions(book, words, session, period)
        _mismatches(book, words, session, period)
        progress.stage("saving the workbook")
        book.save(out)
    except BaseException:
        book.discard()
        raise
    return Written(out, sum(span.rows for span in ledger), book.titles())


def _properties(
    words: Words, period: Period, by: str, now: dt.datetime, rows: int
) -> sheets.Properties:
    described = words.period(period)
    return sheets.Properties(
        title=words(TITLE),
        subject=words("workbook.disbursements.subject", period=described),
        creator=by,
        description=words(
            "workbook.disbursements.description",
            period=described,
            stamp=words.stamp(now),
            by=by,
            rows=f"{rows:,}",
        ),
        keywords=words("workbook.disbursements.keywords"),
        custom={
            "report": "disbursements",
            "language": words.language,
            "period_from": str(period.date_from or ""),
            "period_to": str(period.date_to or ""),
            "policy": period.policy_id or "",
            "generated_at": f"{now.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC",
            "generated_by": by,
            "ledger_rows": str(rows),
        },
        created=now,
    )


def heading(
    sheet: sheets.Sheet, words: Words, title: str, period: Period, by: str, now: dt.datetime
) -> None:
    """Three lines: the report's name, its period, when and by whom it was made."""
    sheet.line(title, bold=True)
    sheet.line(words("workbook.period", period=words.period(period)))
    sheet.line(words.generated(now, by))


HEADING_ROWS = 3


def _summary(
    book: sheets.Book,
    words: Words,
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
                budget.title_in(words.language) if budget else "",
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
    label = words("workbook.total")
    policy_total = (
        label,
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
    district_rows = [_group_row(line, words.district(line.key)) for line in districts]
    sections = sorted(summary.section.values(), key=lambda x: x.key)
    section_rows = [(*_group_row(line), words.section(line.key)) for line in sections]
    days = queries.paid_by_day(session, period)
    day_rows, running = [], queries.ZERO
    for day in days:
        running += day.paid
        day_rows.append((day.day, day.paid, running, day.items))
    group_total = (label, total.paid, total.returned, total.items_paid, total.firms_paid,
                   total.employees_covered)  # fmt: skip
    policy_columns = words.columns(POLICY_COLUMNS)
    district_columns = words.columns(DISTRICT_COLUMNS)
    section_columns = words.columns(SECTION_COLUMNS)
    day_columns = words.columns(DAY_COLUMNS)
    tables: list[tuple[Sequence[Column], Sequence[Sequence[Any]]]] = [
        (policy_columns, [*policy_rows, policy_total]),
        (district_columns, [*district_rows, group_total]),
        (section_columns, [*section_rows, (*group_total, None)]),
        (day_columns, day_rows),
    ]
    sheet = book.sheet(
        words("workbook.sheet.summary"),
        sheets.fitted_widths(tables),
        freeze=f"A{HEADING_ROWS + 1}",
        repeat=f"1:{HEADING_ROWS}",
    )
    heading(sheet, words, words(TITLE), period, by, now)
    for note in NOTES:
        sheet.line(words(note))
    sheet.blank()
    sheet.line(words("workbook.by_policy"), bold=True)
    sheet.table("ByPolicy", policy_columns, policy_rows, policy_total)
    sheet.blank()
    sheet.line(words("workbook.by_district"), bold=True)
    by_district = sheet.table("ByDistrict", district_columns, district_rows, group_total)
    sheet.blank()
    sheet.line(words("workbook.by_section"), bold=True)
    sheet.table("BySection", section_columns, section_rows, (*group_total, None))
    sheet.blank()
    sheet.line(words("workbook.by_day"), bold=True)
    day_total = (label, total.paid, total.paid, total.items_paid)
    by_day = sheet.table("ByDay", day_columns, day_rows, day_total)
    yuan = words("workbook.axis.yuan")
    sheet.bar_chart(words("workbook.chart.paid_by_district"), by_district, 1, [2], yuan)
    sheet.line_chart(words("workbook.chart.cumulative_paid"), by_day, 1, 3, yuan)
    sheet.charts_page()


def _by_paid(line: Line) -> tuple[Decimal, str]:
    return (-line.paid, line.key)


def _group_row(line: Line, key: str | None = None) -> tuple[Any, ...]:
    return (
        line.key if key is None else key,
        line.paid,
        line.returned,
        line.items_paid,
        line.firms_paid,
        line.employees_covered,
    )


def _ledger(words: Words, rows: Iterable[queries.LedgerRow]) -> Iterator[queries.LedgerRow]:
    """The ledger's rows with their district, bank and state in words (each word looked up once,
    not once per row: a ledger may have a million rows)."""
    states: dict[str, str | None] = {}
    banks: dict[str, str | None] = {}
    for row in rows:
        bank, state = row[8], row[13]
        if bank not in banks:
            banks[bank] = words.bank(bank)
        if state not in states:
            states[state] = words.state("item", state)
        yield (*row[:6], words.district(row[6]), row[7], banks[bank], *row[9:13], states[state],
               row[14])  # fmt: skip


def _budget(book: sheets.Book, words: Words, found: list[queries.Budget]) -> None:
    rows = [
        (
            b.policy_id,
            b.title_in(words.language),
            words.state("policy", b.state),
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
        words("workbook.total"),
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
    sheet = book.sheet(words("workbook.sheet.budget"), widths, freeze="A2", repeat="1:1")
    sheet.table("Budget", words.columns(BUDGET_COLUMNS), rows, total)
    sheet.blank()
    sheet.line(words("workbook.budget_note"))
    sheet.line(words("workbook.ledger_note"))


def _share(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part / whole).quantize(Decimal("0.0001")) if whole else None


def _exceptions(book: sheets.Book, words: Words, session: Session, period: Period) -> None:
    widths = [c.width or 12 for c in EXCEPTION_COLUMNS]
    sheet = book.sheet(words("workbook.sheet.exceptions"), widths, freeze="A3", repeat="1:2")
    sheet.line(words("workbook.returned_failed"), bold=True)
    count, amount = queries.exception_totals(session, period)
    total = (words("workbook.total"), words.count("workbook.items", count), *([None] * 5), amount,
             *([None] * 5))  # fmt: skip
    states: dict[str, str | None] = {}

    def worded(rows: Iterable[queries.LedgerRow]) -> Iterator[queries.LedgerRow]:
        for row in rows:
            state = row[8]
            if state not in states:
                states[state] = words.state("item", state)
            yield (*row[:5], words.district(row[5]), row[6], row[7], states[state], *row[9:])

    _capped(sheet, words, "ReturnedFailed", words.columns(EXCEPTION_COLUMNS),
            worded(queries.exception_items(session, period)), total, count)  # fmt: skip


def _mismatches(book: sheets.Book, words: Words, session: Session, period: Period) -> None:
    widths = [c.width or 12 for c in MISMATCH_COLUMNS]
    sheet = book.sheet(words("workbook.sheet.mismatches"), widths, freeze="A3", repeat="1:2")
    sheet.line(words("workbook.mismatches"), bold=True)
    n, amount, expected, difference = queries.mismatch_totals(session, period)
    total = (words("workbook.total"), words.count("workbook.lines", n), *([None] * 6), amount,
             expected, difference, None, None, None)  # fmt: skip
    rows = (
        (*row[:3], words.state("exception", row[3]), *row[4:13], words.actor(row[13]))
        for row in queries.mismatches(session, period)
    )
    _capped(sheet, words, "Mismatches", words.columns(MISMATCH_COLUMNS), rows, total, n)


def _capped(
    sheet: sheets.Sheet,
    words: Words,
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
        sheet.line(words("workbook.more_not_listed", n=f"{count - limit:,}"))


def _first(rows: Iterable[Sequence[Any]], n: int) -> Iterable[Sequence[Any]]:
    for i, row in enumerate(rows):
        if i == n:
            return
        yield row
