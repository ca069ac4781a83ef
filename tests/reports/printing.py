"""Workbooks printed as LibreOffice prints them: converted headless to PDF, read back per page.

`soffice` and `pdftotext` come from Debian's `libreoffice-calc` and `poppler-utils`. Without them
a test that prints skips, saying so, except under CI=true, where their absence fails it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

CONVERT_SECONDS = 300
"""A guard against a hung LibreOffice, not a measure: a conversion takes seconds."""
SEPARATOR = " · "
"""Between the report's name, its period and the sheet's name in every page's header."""


def require_printing() -> None:
    missing = [tool for tool in ("soffice", "pdftotext") if shutil.which(tool) is None]
    if not missing:
        return
    message = (
        f"{' and '.join(missing)} not installed (apt-get install libreoffice-calc "
        "poppler-utils fonts-noto-cjk)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def to_pdf(books: list[Path], folder: Path) -> list[Path]:
    """Each workbook as the PDF LibreOffice prints it (every sheet, in order), in `folder`. One
    LibreOffice for all of them, with a profile of its own (a user's running LibreOffice, or
    another test's, would otherwise take the conversion over or lock the profile)."""
    profile = folder / f"lo-{uuid.uuid4().hex}"
    command = [
        "soffice",
        "--headless",
        "--norestore",
        f"-env:UserInstallation={profile.as_uri()}",
        "--convert-to",
        "pdf",
        "--outdir",
        str(folder),
        *map(str, books),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=CONVERT_SECONDS)
    pdfs = [folder / f"{book.stem}.pdf" for book in books]
    missing = [pdf.name for pdf in pdfs if not pdf.is_file()]
    assert not missing, f"LibreOffice made no {missing}: {done.stdout}{done.stderr}"
    shutil.rmtree(profile, ignore_errors=True)
    return pdfs


@dataclass(frozen=True)
class Printed:
    """One printed page: the sheet its header names and its text, laid out as on the page."""

    number: int
    sheet: str
    text: str

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()


def pages(pdf: Path) -> list[Printed]:
    """The PDF's pages, each with the sheet named at the end of its header line."""
    done = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=CONVERT_SECONDS,
    )
    found = []
    for number, text in enumerate(done.stdout.split("\f"), start=1):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if not lines:
            continue  # what follows the last form feed
        sheet = lines[0].rsplit(SEPARATOR, 1)[-1].strip() if SEPARATOR in lines[0] else ""
        found.append(Printed(number, sheet, text))
    return found


def has_in_one_line(page: Printed, words: list[str]) -> bool:
    """Whether one line of the page shows every one of `words`, in this order (a header row)."""
    for line in page.lines:
        at = 0
        for word in words:
            at = line.find(word, at)
            if at < 0:
                break
            at += len(word)
        else:
            return True
    return False
