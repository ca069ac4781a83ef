"""The workbooks as LibreOffice prints them (headless, to PDF, read back with pdftotext): the
Summary is one page wide, every page of the Ledger repeats its header row, every page is headed
by the report, its period and its sheet and numbered at its foot, and charts are not cut.

Printing depends on the workbook, not on the database: it runs in the SQLite run of the suite
only (`.ci/run` runs the suite on SQLite and again on PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import col

from payouts.models import ItemState, PayoutItem
from reports import disbursements, funnel
from reports._sheets import Column
from reports.queries import Period
from reports.words import Words
from subsidy import db
from subsidy.redemption.models import Redemption
from tests.reports.helpers import Payouts
from tests.reports.printing import Printed, has_in_one_line, pages, require_printing, to_pdf

pytestmark = pytest.mark.skipif(
    (os.environ.get("QINQING_DATABASE_URL") or "").startswith("postgresql"),
    reason="printing does not depend on the database: checked in the suite's SQLite run",
)

RETURNED = 420
"""Returned items added to the fixture's: a ledger (and an exceptions list) of several pages."""


def _many_items(engine: Engine) -> None:
    """Payments returned by the bank, many of them: returned items may repeat a redemption."""
    with db.session_scope(engine) as session:
        first = session.execute(select(PayoutItem).order_by(col(PayoutItem.id))).scalars().first()
        redemptions = list(session.execute(select(Redemption)).scalars())
        assert first is not None
        for n in range(RETURNED):
            r = redemptions[n % len(redemptions)]
            assert r.id is not None
            session.add(
                PayoutItem(
                    batch_id=first.batch_id,
                    redemption_id=r.id,
                    policy_id=r.policy_id,
                    uscc=r.uscc,
                    payee_name=f"退回测试企业 {n:04d} 有限公司",
                    bank_code="ZJRCU",
                    account=f"62310000{n:011d}",
                    amount=r.amount,
                    offset=Decimal("0.00"),
                    net=r.amount,
                    state=ItemState.RETURNED,
                    attempts=1,
                    reason_code="R01",
                    reason="账户已销户",
                    updated_at=dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC),
                )
            )


def _sheet_pages(printed: list[Printed], sheet: str) -> list[Printed]:
    return [page for page in printed if page.sheet == sheet or page.sheet.startswith(f"{sheet} ")]


def test_the_workbooks_print_one_page_wide_with_their_headers_on_every_page(
    engine: Engine, matched: Payouts, data_dir: Path, tmp_path: Path
) -> None:
    require_printing()
    _many_items(engine)
    books = {}
    for language in ("zh", "en"):
        books[language] = tmp_path / f"disbursements-{language}.xlsx"
        with db.session_scope(engine) as session:
            disbursements.write(
                session, Period(), books[language], by="finance:test", language=language
            )
    books["funnel"] = tmp_path / "funnel-zh.xlsx"
    with db.session_scope(engine) as session:
        funnel.write(session, "rep-a", books["funnel"], by="officer:test", data_dir=data_dir)
    pdfs = dict(zip(books, to_pdf(list(books.values()), tmp_path), strict=True))
    if os.environ.get("QINQING_KEEP_PRINTS"):  # to look at them: pdftoppm -png -r 50
        for pdf in pdfs.values():
            (Path(os.environ["QINQING_KEEP_PRINTS"]) / pdf.name).write_bytes(pdf.read_bytes())

    for language in ("zh", "en"):
        words = Words(language)  # type: ignore[arg-type]
        printed = pages(pdfs[language])
        _every_page_is_headed_and_numbered(printed, words(disbursements.TITLE))
        summary = _sheet_pages(printed, words("workbook.sheet.summary"))
        # one page wide: each table's header row, column A to its last column, on one line
        tables: list[Sequence[Column]] = [
            disbursements.POLICY_COLUMNS,
            disbursements.SECTION_COLUMNS,
        ]
        for table in tables:
            headers = [c.header for c in words.columns(table)]
            assert has_in_one_line(summary[0], headers), (language, summary[0].text)
        # the charts on a page of their own, after the tables, both whole on it
        charts = [words("workbook.chart.paid_by_district"), words("workbook.chart.cumulative_paid")]
        (chart_page,) = [page for page in summary if charts[0] in page.text]
        assert chart_page == summary[-1]
        assert charts[1] in chart_page.text
        assert words.columns(disbursements.POLICY_COLUMNS)[1].header not in chart_page.text

        listed: list[tuple[str, Sequence[Column]]] = [
            ("workbook.sheet.ledger", disbursements.LEDGER_COLUMNS),
            ("workbook.sheet.exceptions", disbursements.EXCEPTION_COLUMNS),
        ]
        for sheet, columns in listed:
            found = _sheet_pages(printed, words(sheet))
            assert len(found) >= 3, (language, sheet, len(found))
            headers = [c.header for c in words.columns(columns)]
            for page in found:
                assert has_in_one_line(page, headers), (language, sheet, page.number, page.text)

    words = Words("zh")
    printed = pages(pdfs["funnel"])
    _every_page_is_headed_and_numbered(printed, words(funnel.TITLE))
    funnel_pages = _sheet_pages(printed, words("workbook.sheet.funnel"))
    headers = [c.header for c in words.columns(funnel.SECTION_COLUMNS)]
    assert has_in_one_line(funnel_pages[0], headers), funnel_pages[0].text
    assert words("workbook.chart.firms_by_district") in funnel_pages[-1].text


def _every_page_is_headed_and_numbered(printed: list[Printed], title: str) -> None:
    """The report's name heads every page, with its sheet; 'n / pages' is at its foot."""
    assert printed
    for n, page in enumerate(printed, start=1):
        assert page.lines[0].strip().startswith(title), (n, page.lines[0])
        assert page.sheet, (n, page.lines[0])
        foot = "".join(page.lines[-1].split())  # pdftotext may drop the spaces around "/"
        assert foot == f"{n}/{len(printed)}", (n, page.lines[-1])
