"""The errors Qinqing raises on purpose, drawn once so callers know what to catch.

Each domain adds its own branch under QinqingError in its own `errors.py`; every class declares
the HTTP answer it is (status in brackets; a class not shown answers as its parent does):

    QinqingError [400 bad-request]    anything the platform refuses, with words for the user
    ├── ConfigurationError [500]      settings that must not be used (the dev secret in production)
    ├── AuthenticationError [401]     no token, or a forged, expired, malformed one (subsidy.auth)
    ├── SignInRefused [401]           a code or portal session that does not sign in (signin)
    ├── RegistryError [409]           a registry import refused, nothing written; or the registry
    │   │                             cannot be read (subsidy.registry.errors)
    │   ├── RegistryFileError         the file cannot be read at all (format, encoding, missing)
    │   └── RegistryValidationError   its content breaks the registry contract; `.problems` lists
    │                                 every problem with file, row, column and value [422]
    ├── DeclarationError [422]        a registry declaration refused; nothing declared; `.problems`
    │                                 places every problem by document, line and field
    ├── ConcurrentDeclaration [409]   another declaration was made meanwhile (subsidy.declare)
    ├── PolicyError                   policies/errors.py: a document [422 with its `issues`], a
    │                                 draft or policy unknown [404], published or in the wrong
    │                                 state [409], four-eyes requests [404 / 409 / 422 / 403]
    ├── MatchingError [422]           matching/errors.py: a rule the matcher cannot run
    ├── RedemptionError [409]         subsidy/redemption/errors.py: unknown policy [404], not
    │                                 eligible [422, with the `explanation`], the rest [409]
    ├── PayoutError                   payouts/errors.py: not found [404], maker-checker [403],
    │                                 bad input [422], the states [409]
    ├── BankError [502]               payouts/gateways/errors.py: a bank file that cannot be read
    │                                 [422, with its `problems`]
    ├── ReportError [422]             reports/errors.py: a job not ready [409], its file gone [404]
    ├── NotificationError [409]       subsidy/notifications/errors.py: unknown [404], a mail relay
    │                                 that cannot be used [502]
    └── ProblemError                  subsidy/api/problems.py: the HTTP edge's own answers (not
                                      found, forbidden, overloaded, rate-limited, ...)

Codes and words. Every class declares a stable `code` (`redemption.already_redeemed`); a class
whose refusals differ in what they say also declares `variants`, the other codes one of its
instances may carry (`payout.not_found.batch`). A code's words live in `errors.po` (zh, en) as
`error.<code>`, with named placeholders filled from the error's own `fields`. An error is raised
with its fields (`AlreadyRedeemed(uscc=..., policy_id=...)`): its `str()` is the English words,
as logs and the command line read them, and `message_in(language)` the words a page shows.
A code never changes once published (API clients branch on it); its words may.

Answers. Every class also declares the HTTP answer it is (`status`, a stable `slug` that makes
the problem's `type`, a `title`), and may add members to the body (`extra`) or headers: one
handler (`subsidy.api.problems`) renders every QinqingError from them. A subclass that declares
none answers as its parent does, so a new refusal can never become a 500.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from subsidy import i18n

PREFIX = "error."


def key_of(code: str) -> str:
    """The catalog key of an error code."""
    return PREFIX + code


def placeholders(words: str) -> set[str]:
    """The names `str.format` fills in `words` (`{uscc}`, `{count:,}`, `{name!r}` -> names)."""
    return {name for _, name, _, _ in string.Formatter().parse(words) if name}


@dataclass(frozen=True)
class Term:
    """A field's value that is itself words (`Term("error_type.STRING")`: text / 文本), put in
    the language of the message it fills."""

    key: str

    def __str__(self) -> str:
        return i18n.text("en", self.key)


def worded(language: i18n.Language, code: str, fields: Mapping[str, object], fallback: str) -> str:
    """The words of `code` in `language` with `fields` filled in; `fallback` (the message the
    error was raised with) when the catalog lacks the code or the fields do not fill it."""
    key = key_of(code)
    if not i18n.has(language, key):
        return fallback
    words = i18n.translations(language).gettext(key)
    if not placeholders(words) <= set(fields):
        return fallback
    filled = {
        name: i18n.text(language, value.key) if isinstance(value, Term) else value
        for name, value in fields.items()
    }
    return words.format(**filled)


@functools.cache
def _patterns(codes: tuple[str, ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each code with a pattern of its English words, `{name}` a named group (again: the same)."""
    found = []
    for code in codes:
        words = i18n.translations("en").gettext(key_of(code))
        pattern, seen = "", set()
        for literal, name, _, _ in string.Formatter().parse(words):
            pattern += re.escape(literal)
            if name:
                pattern += f"(?P={name})" if name in seen else f"(?P<{name}>.+?)"
                seen.add(name)
        found.append((code, re.compile(pattern + r"\Z", re.DOTALL)))
    return tuple(found)


def read_back(message: str, codes: tuple[str, ...]) -> tuple[str, dict[str, object]] | None:
    """The code among `codes` whose English words render as `message`, and its fields; for
    messages built in bulk (a polars column of problems) or by a library's caller. The first
    code that fits wins, so a more general one goes last. Its words have no format specs."""
    for code, pattern in _patterns(codes):
        matched = pattern.match(message)
        if matched:
            return code, dict(matched.groupdict())
    return None


def counted(where: str, count: int) -> str:
    """`demo.yaml: 3 problems`: the `detail` of a refusal that lists every problem it found."""
    return f"{where}: {count} problem{'s' if count != 1 else ''}"


def english(code: str, fields: Mapping[str, object]) -> str:
    """The English words of `code`: the message the error carries (logs, CLI, API `detail`)."""
    return worded("en", code, fields, code)


class QinqingError(Exception):
    """Base of every error the platform raises deliberately.

    Raise with the fields the code's words name (`Error(uscc=...)`), or with `code=` one of the
    class's `variants`; a message given as text (an older call, or a library's own words) is
    kept as it is in every language."""

    code: str = "qinqing.refused"
    variants: ClassVar[tuple[str, ...]] = ()
    states: ClassVar[Mapping[str, str]] = {}
    """Fields that hold a state, by the state's kind (`{"state": "policy"}`): shown in the
    page's language (`terms.po`), never a raw `suspended`."""
    terms: ClassVar[Mapping[str, str]] = {}
    """Fields whose value names a term, by its key's prefix (`{"role": "role."}`)."""

    status: ClassVar[int] = 400
    """The HTTP status of the answer (a subclass that declares none answers as its parent)."""
    slug: ClassVar[str] = "bad-request"
    """The stable end of the problem's `type` URN (`urn:qinqing:problem:<slug>`)."""
    title: ClassVar[str] = "Bad request"
    """What kind of refusal this is, for people (English; `message` carries the words)."""

    def __init__(self, message: str | None = None, /, *, code: str | None = None, **fields: object):
        chosen = code or type(self).code
        if chosen not in type(self).codes():
            raise ValueError(f"{type(self).__name__} has no code {chosen!r}")
        if message is not None and not fields:
            fields = {"detail": message}  # words written elsewhere: a code's `{detail}` shows them
        self.code = chosen
        self.fields: dict[str, object] = fields
        super().__init__(message if message is not None else english(chosen, fields))

    @classmethod
    def codes(cls) -> tuple[str, ...]:
        """Every code an instance of exactly this class may carry."""
        return (cls.code, *cls.__dict__.get("variants", ()))  # a subclass has its own

    @property
    def detail(self) -> str:
        """What happened this time, in English (the answer's `detail`)."""
        return str(self)

    def extra(self) -> dict[str, object]:
        """Members the answer's body carries besides the problem's own (`issues`, ...)."""
        return {}

    @property
    def headers(self) -> dict[str, str]:
        """Headers the answer carries (Retry-After, WWW-Authenticate, ...)."""
        return {}

    def message_in(self, language: i18n.Language) -> str:
        """The message in `language` (Chinese on the portal by default, English on request)."""
        fields = dict(self.fields)
        for name, kind in self.states.items():
            if name in fields:
                fields[name] = i18n.state(language, kind, str(fields[name]))
        for name, prefix in self.terms.items():
            if name in fields and i18n.has(language, f"{prefix}{fields[name]}"):
                fields[name] = i18n.text(language, f"{prefix}{fields[name]}")
        return worded(language, self.code, fields, str(self))


class ConfigurationError(QinqingError):
    """The settings cannot be used as they are: the service's fault, not the caller's."""

    code = "config.invalid"
    status, slug, title = 500, "configuration", "The service is not configured to do this"
