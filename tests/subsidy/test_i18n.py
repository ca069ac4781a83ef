"""Every word has both languages: the catalogs agree with each other, and every key a template
names literally (`t('key')`, `_('key')`, `gettext('key')`) or by a known prefix has a translation
in each language. A missing translation fails here, not on a user's screen."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from babel.messages.pofile import read_po

from subsidy import i18n

TEMPLATES = resources.files("subsidy.web") / "templates"
LITERAL = re.compile(r"""(?<![\w.])(?:t|_|gettext)\(\s*['"]([^'"]+)['"]\s*[,)]""")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _catalog(language: i18n.Language) -> dict[str, str]:
    words: dict[str, str] = {}
    for name in i18n.catalog_files(language):
        with (i18n.LOCALE / language / "LC_MESSAGES" / name).open("rb") as po:
            for message in read_po(po, locale=language):
                if message.id:
                    assert message.id not in words, f"{language}/{name}: {message.id} twice"
                    words[str(message.id)] = str(message.string)
    return words


def _template_keys() -> set[str]:
    keys: set[str] = set()
    for entry in TEMPLATES.iterdir():
        if entry.name.endswith(".html"):
            keys |= set(LITERAL.findall(entry.read_text(encoding="utf-8")))
    return keys


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    zh, en = _catalog("zh"), _catalog("en")
    assert set(zh) == set(en), sorted(set(zh) ^ set(en))
    assert set(i18n.catalog_files("zh")) == set(i18n.catalog_files("en"))
    for key, words in zh.items():
        assert words, f"zh: {key} is empty"
        assert en[key], f"en: {key} is empty"
        assert set(PLACEHOLDER.findall(words)) == set(PLACEHOLDER.findall(en[key])), key


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_key_a_template_names_is_translated(language: i18n.Language) -> None:
    keys = _template_keys()
    assert len(keys) > 100  # the pattern still finds the templates' keys
    missing = sorted(key for key in keys if not i18n.has(language, key))
    assert not missing, f"{language} lacks {missing}"


def test_a_missing_key_shows_itself_and_values_are_filled_after_translation() -> None:
    assert i18n.text("zh", "no.such.key") == "no.such.key"
    assert not i18n.has("en", "no.such.key")
    assert i18n.text("en", "sign_in_as", who="Finance") == "Sign in as Finance"
    assert i18n.text("zh", "sign_in_as", who="财务") == "以 财务 身份登录"
