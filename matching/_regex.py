"""Regular expressions: Python's `re` (the reference) vs Rust's `regex` (polars).

The dialects agree on a plain subset: literal characters, `.`, classes `[...]` of literals and
ranges, groups `( )`, alternation `|`, the quantifiers `* + ? {m} {m,n}` (and their lazy forms),
`^` at the start and the escapes `\\` + punctuation. Anything else (`\\d`, `\\w`, `\\s`, `\\b`,
whose Unicode tables differ between Python's and Rust's versions; look-arounds, flags,
back-references, `$`, which Python also matches before a final newline) is not translated: the
compiler then leaves the match to Python's `re`, once per distinct text. A pattern too large for
Rust's regex is an `InvalidRule` (validation refuses it first, see policies/regexes.py).
"""

from __future__ import annotations

import re

import polars as pl

from matching.errors import InvalidRule, UnsupportedRule

_QUANTIFIER = re.compile(r"\{\d+(,\d*)?\}")
_PUNCTUATION = set(r".^$*+?()[]{}|\-")
_ALLOWED_ESCAPES: set[str] = set()


def _refuse(pattern: str, why: str) -> UnsupportedRule:
    return UnsupportedRule(f"the compiler cannot compile the regular expression {pattern!r}: {why}")


def _check_escape(pattern: str, i: int) -> None:
    if i + 1 >= len(pattern):
        raise _refuse(pattern, "it ends with a backslash")
    nxt = pattern[i + 1]
    if nxt not in _ALLOWED_ESCAPES and nxt not in _PUNCTUATION:
        raise _refuse(pattern, f"the escape \\{nxt} differs between Python and Rust")


def _class_end(pattern: str, i: int) -> int:
    """Index just past the character class opening at i."""
    j = i + 1
    if j < len(pattern) and pattern[j] == "^":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        raise _refuse(pattern, "a class starting with ']' differs between Python and Rust")
    while j < len(pattern) and pattern[j] != "]":
        if pattern[j] == "[" or pattern[j : j + 2] in ("&&", "--", "~~"):
            raise _refuse(pattern, "nested or set-operation classes differ")
        if pattern[j] == "\\":
            _check_escape(pattern, j)
            j += 1
        j += 1
    if j >= len(pattern):
        raise _refuse(pattern, "an unterminated character class")
    return j + 1


def _check(pattern: str) -> None:
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            _check_escape(pattern, i)
            i += 2
        elif c == "[":
            i = _class_end(pattern, i)
        elif c == "{":
            m = _QUANTIFIER.match(pattern, i)
            if m is None or i == 0:
                raise _refuse(pattern, "a literal '{' differs between Python and Rust")
            i = m.end()
            if pattern[i : i + 1] == "+":
                raise _refuse(pattern, "possessive quantifiers exist only in Python")
        elif c == "(" and pattern[i + 1 : i + 2] == "?":
            raise _refuse(pattern, "group extensions '(?...)' differ")
        elif c == "$":
            raise _refuse(pattern, "'$' also matches before a final newline in Python")
        elif c in "*+?}" and pattern[i + 1 : i + 2] == "+":
            raise _refuse(pattern, "possessive quantifiers exist only in Python")
        elif c == "^" and i != 0:
            raise _refuse(pattern, "'^' is only translated at the start")
        else:
            i += 1


def translate(pattern: str, anchored: bool) -> str:
    """The Rust pattern that matches where Python's re.match (anchored) / re.search does."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise _refuse(pattern, f"it is invalid ({exc})") from None
    _check(pattern)
    rust = f"^(?:{pattern})" if anchored else pattern
    try:
        pl.select(pl.lit("").str.contains(rust))
    except pl.exceptions.PolarsError as exc:
        if "size limit" in str(exc):  # never left to a run: validation refuses it first
            raise InvalidRule(
                f"the regular expression {pattern!r} compiles too large for the matcher "
                "(over the 10 MB Rust's regex allows); use fewer repetitions"
            ) from None
        raise _refuse(pattern, f"Rust's regex cannot compile it ({exc})") from None
    return rust
