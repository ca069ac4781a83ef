"""Every word a user reads, in Chinese (the default) and English, from gettext catalogs.

The catalogs are Babel `.po` files under `locale/<lang>/LC_MESSAGES/`, one file per area
(`portal.po` the portal's pages, `terms.po` states, banks, roles and system actors, `errors.po`
every domain error by its stable code, `reports.po` the workbooks). They are read as text when
first asked for and merged per language, so there is no compile step and no binary in the
repository. Message ids are stable symbolic keys (`batches.title`, `error.redemption.duplicate`);
values are filled in with `str.format` (`{uscc}`), after translation.

A key missing from a catalog shows itself; `tests/subsidy/test_i18n.py` fails on any key that a
template or the code uses without a translation in both languages.
"""

from __future__ import annotations

import functools
from importlib import resources
from io import BytesIO
from typing import Literal

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")
DEFAULT: Language = "zh"
LOCALE = resources.files("subsidy.i18n") / "locale"


def catalog_files(language: Language) -> list[str]:
    """The names of the `.po` files of one language, sorted (one per area)."""
    folder = LOCALE / language / "LC_MESSAGES"
    return sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".po"))


@functools.cache
def translations(language: Language) -> Translations:
    """Every catalog of `language` merged into one gettext translations object."""
    merged = Translations()
    for name in catalog_files(language):
        with (LOCALE / language / "LC_MESSAGES" / name).open("rb") as po:
            catalog = read_po(po, locale=language, domain=name.removesuffix(".po"))
        compiled = BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        merged.merge(Translations(compiled, domain=catalog.domain))
    return merged


def text(language: Language, key: str, **values: object) -> str:
    """The words for `key` in `language`, with `values` filled in."""
    words = translations(language).gettext(key)
    return words.format(**values) if values else words


def has(language: Language, key: str) -> bool:
    """Whether `language` has its own words for `key`."""
    return translations(language).gettext(key) != key


def language_of(*candidates: str | None) -> Language:
    """The first of `candidates` that is a language (a query parameter, a cookie, a header,
    an option), else the default."""
    for candidate in candidates:
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT
