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


def state(language: Language, kind: str, value: str) -> str:
    """A state by its kind (`redemption`, `policy`, `batch`, `item`, ...) and value, from
    `terms.po` (`state.<kind>.<value>`); the value itself when it has no words."""
    key = f"state.{kind}.{value}"
    return text(language, key) if has(language, key) else str(value)


def bank(language: Language, code: str) -> str:
    """A bank by its code (`ZJRCU` -> 浙江农信), or the code when it has no name."""
    key = f"bank.{code}"
    return text(language, key) if has(language, key) else code


def actor(language: Language, name: str) -> str:
    """Who acted, as a person reads it: a system actor (`system:automatic-grant`) by its name,
    a person with a role (`officer:li.wei`) as the role's name and the person, anything else as
    it is recorded."""
    role, colon, subject = name.partition(":")
    if not colon or not subject:
        return name
    if role == "system":
        key = f"actor.system.{subject}"
        return text(language, key) if has(language, key) else name
    if has(language, f"role.{role}"):
        return text(language, "actor.person", role=text(language, f"role.{role}"), subject=subject)
    return name


def language_of(*candidates: str | None) -> Language:
    """The first of `candidates` that is a language (a query parameter, a cookie, a header,
    an option), else the default."""
    for candidate in candidates:
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT
