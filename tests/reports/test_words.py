"""Every word a workbook shows is in its language's catalogs: both workbooks are written in
Chinese and in English, and every text that is not data (sheet names, headings, notes, column
headers, totals, states, banks, section names, chart and page titles, properties) must be one of
the language's catalog words, its values filled in. A word missing from reports.po (or terms.po)
fails here; so does an English word left in a Chinese workbook."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from babel.messages.pofile import read_po
from sqlalchemy import Engine, select

from policies.models import Policy
from reports import disbursements, funnel
from reports.queries import Period
from subsidy import db, i18n
from tests.reports.helpers import Payouts

PLACEHOLDER = re.compile(r"\\\{(\w+)\\\}")
WORDS_IN_DATA = {
    # table name -> the 0-based columns of its data rows that hold words, not data
    "Ledger": (8, 13),  # bank, state
    "ReturnedFailed": (8,),  # state
    "Mismatches": (3, 13),  # kind, resolved by
    "Budget": (2,),  # state
    "BySection": (6,),  # the section's name
    "FunnelBySection": (10,),
    "Stages": (0,),
}


def _messages(language: i18n.Language) -> list[str]:
    found = []
    for name in i18n.catalog_files(language):
        with (i18n.LOCALE / language / "LC_MESSAGES" / name).open("rb") as po:
            found += [str(m.string) for m in read_po(po, locale=language) if m.id and m.string]
    return found


def _pattern(message: str) -> re.Pattern[str]:
    """A catalog message as a pattern: each `{value}` stands for some text."""
    return re.compile(PLACEHOLDER.sub("(.+?)", re.escape(message)), re.S)


class Catalog:
    def __init__(self, language: i18n.Language) -> None:
        messages = _messages(language)
        self.exact = set(messages)
        self.patterns = [_pattern(m) for m in messages if "{" in m]

    def knows(self, text: str) -> bool:
        return text in self.exact or any(p.fullmatch(text) for p in self.patterns)


def _literal_letters(message: str) -> int:
    return len(re.findall(r"[A-Za-z]", re.sub(r"\{\w+\}", "", message)))


ENGLISH = [
    _pattern(m) for m in set(_messages("en")) - set(_messages("zh")) if _literal_letters(m) >= 4
]
"""English words a Chinese workbook must not show (those of more than a few letters)."""


def _tables(ws: Any) -> Iterator[tuple[str, int, int, int]]:
    """Each table of the sheet: its name, header row, first and last data rows."""
    for table in ws.tables.values():
        cells = ws[table.ref]
        yield table.displayName, cells[0][0].row, cells[0][0].row + 1, cells[-1][0].row


def _words_of(path: Path, data: set[str]) -> list[tuple[str, str]]:
    """(where, text) of every text in the workbook that is not data."""
    wb: Any = openpyxl.load_workbook(path)
    found = [("properties", v) for v in (wb.properties.title, wb.properties.subject) if v]
    found.append(("properties", wb.properties.keywords))
    for ws in wb.worksheets:
        continued = ws.title[-1].isdigit()  # "明细 2": a table longer than a sheet
        found.append(("sheet name", ws.title.rsplit(" ", 1)[0] if continued else ws.title))
        report, period, sheet = ws.oddHeader.center.text.replace("&&", "&").split(" · ")
        assert sheet == "&A"
        found.append((f"{ws.title} page header", report))
        if path.stem == "disbursements":  # the funnel's names its policy there: data
            found.append((f"{ws.title} page header", period))
        data_rows: set[int] = set()
        for name, _header, first, last in _tables(ws):
            data_rows |= set(range(first, last + 1))
            for row in ws.iter_rows(min_row=first, max_row=last, values_only=True):
                for index in WORDS_IN_DATA.get(name.rstrip("_0123456789"), ()):
                    if isinstance(row[index], str) and row[index] != "":
                        found.append((f"{ws.title} {name} column {index}", row[index]))
        for row in ws.iter_rows():
            for cell in row:
                if cell.row in data_rows or not isinstance(cell.value, str):
                    continue
                if cell.value in data:
                    continue  # a policy's title on the funnel, for one
                found.append((f"{ws.title}!{cell.coordinate}", cell.value))
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/charts/chart"):
                for text in re.findall(r"<a:t>([^<]*)</a:t>", archive.read(name).decode()):
                    found.append((name, text))
    return found


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_word_of_both_workbooks_is_in_the_catalogs(
    engine: Engine, data_dir: Path, matched: Payouts, tmp_path: Path, language: i18n.Language
) -> None:
    books = [tmp_path / "disbursements.xlsx", tmp_path / "funnel.xlsx"]
    with db.session_scope(engine) as session:
        disbursements.write(session, Period(), books[0], by="finance:lin", language=language)
        funnel.write(
            session,
            "hz-2020-ui-refund",
            books[1],
            by="officer:li",
            data_dir=data_dir,
            language=language,
        )
        titles = {p.title_in(language) for p in session.execute(select(Policy)).scalars()}
    catalog = Catalog(language)
    words = [w for book in books for w in _words_of(book, titles)]
    assert len(words) > 150  # headers, labels, totals, states, banks, charts of both
    missing = [(where, text) for where, text in words if not catalog.knows(text)]
    assert not missing, f"{language}: not in the catalogs: {missing}"
    if language == "zh":
        english = [(w, t) for w, t in words if any(p.fullmatch(t) for p in ENGLISH)]
        assert not english, f"English left in the Chinese workbook: {english}"
    wb = openpyxl.load_workbook(books[0])
    english_sheets = ["Summary", "Ledger", "Budget", "Exceptions", "Mismatches"]
    assert (wb.sheetnames == english_sheets) == (language == "en")


def test_the_chinese_workbook_words_are_chinese() -> None:
    """A Chinese message of reports.po is Chinese (a copied English one would pass above)."""
    with (i18n.LOCALE / "zh" / "LC_MESSAGES" / "reports.po").open("rb") as po:
        messages = [(str(m.id), str(m.string)) for m in read_po(po, locale="zh") if m.id]
    assert len(messages) > 100
    cjk = re.compile(r"[\u4e00-\u9fff]")
    english = [
        key for key, text in messages if _literal_letters(text) >= 4 and not cjk.search(text)
    ]
    assert not english, english
