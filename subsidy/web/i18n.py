"""The portal's words, from the gettext catalogs of `subsidy.i18n` (Chinese the default, English).

A page asks `t(key, **values)` (or Jinja2's `_` / `gettext`, installed by the i18n extension);
the language comes from the `lang` query parameter or the `qinqing_lang` cookie the switch sets.
The words live in `subsidy/i18n/locale/<lang>/LC_MESSAGES/*.po`, one file per area; a key missing
everywhere shows itself, and `tests/subsidy/test_i18n.py` fails on a key a template uses that a
catalog lacks.
"""

from __future__ import annotations

from dataclasses import dataclass

from subsidy import i18n
from subsidy.i18n import DEFAULT, LANGUAGES, Language

__all__ = ["COOKIE", "DEFAULT", "LANGUAGES", "Language", "Translator", "language_of"]

COOKIE = "qinqing_lang"


@dataclass(frozen=True)
class Translator:
    language: Language

    def t(self, key: str, **values: object) -> str:
        return i18n.text(self.language, key, **values)

    def has(self, key: str) -> bool:
        return i18n.has(self.language, key)


def language_of(query: str | None, cookie: str | None) -> Language:
    return i18n.language_of(query, cookie)
