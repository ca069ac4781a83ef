"""Which regular expressions a rule may use: none that can run for ever or cannot be compiled.

The matcher runs a pattern in polars (Rust's regex, linear time) when both engines read it alike,
and in Python's `re` otherwise (flags, look-arounds, `\\w`, ...); a firm's page, a redemption and
an explanation always run Python's `re`. Python's `re` backtracks: a pattern such as `(.*.*)*Q`
takes exponential time on a text without a `Q` and holds the interpreter while it does. So every
pattern is analysed here, on Python's own parse of it (`re._parser`), and refused when

- a repeated part contains an unbounded repetition (nested quantifiers: `(a+)+`, `(a*)*`,
  `(.*.*)*Q`), or ends with a variable repetition its next round can also start with
  (`(a{1,5})*`);
- an alternation under a repetition has branches that can start alike or match nothing
  (`(a|a)*`, `(a|ab)*`);
- two unbounded repetitions over overlapping characters follow each other with nothing that
  must match between them, and something after them can fail (`.*.*.*Q`, `\\d+\\d+x`);
- it is longer than `limits.MAX_REGEX_CHARS`, or its counted repetitions expand beyond
  `limits.MAX_REGEX_REPETITION` items (`(a{1000}){1000}`);
- Rust's regex cannot compile it for its size (`\\w{5000}`): polars compiles it here, so a
  match never meets a pattern it cannot compile.

Ordinary patterns (`^91330[0-9]{13}$`, `(?i)科技|技术`, `^(C|I)`, `.*科技.*`) pass: the checks
look for ambiguity, not for repetition as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import polars as pl

from policies.limits import MAX_REGEX_CHARS, MAX_REGEX_REPETITION

_UNBOUNDED = sre.MAXREPEAT
_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT}
_TOP = 0x110000

_WAY_OUT = (
    "write each repeated part once, without a repetition inside a repetition, e.g. "
    "'^[0-9]{18}$' or '(?i)tech|科技'"
)


@dataclass(frozen=True)
class Chars:
    """A set of characters as code-point ranges; `everything` when it is not worth narrowing."""

    ranges: tuple[tuple[int, int], ...] = ()
    everything: bool = False

    def __or__(self, other: Chars) -> Chars:
        if self.everything or other.everything:
            return ANY
        return Chars(self.ranges + other.ranges)

    def overlaps(self, other: Chars) -> bool:
        if not (self.ranges or self.everything) or not (other.ranges or other.everything):
            return False
        if self.everything or other.everything:
            return True
        return any(a <= d and c <= b for a, b in self.ranges for c, d in other.ranges)


NONE = Chars()
ANY = Chars(everything=True)
_DIGITS = Chars(((0x30, 0x39), (0x80, _TOP)))  # Unicode digits lie beyond ASCII


def _char(code: int, ignore_case: bool) -> Chars:
    if not ignore_case:
        return Chars(((code, code),))
    variants = {code, ord(chr(code).lower()[0]), ord(chr(code).upper()[0])}
    return Chars(tuple((c, c) for c in variants))


def _class(items: list[tuple[Any, Any]], ignore_case: bool) -> Chars:
    found = NONE
    for op, av in items:
        if op is sre.NEGATE:
            return ANY
        if op is sre.LITERAL:
            found = found | _char(av, ignore_case)
        elif op is sre.RANGE:
            low, high = av
            letters = ignore_case and any(chr(c).isalpha() for c in (low, high))
            found = found | (ANY if letters else Chars(((low, high),)))
        elif op is sre.CATEGORY and av is sre.CATEGORY_DIGIT:
            found = found | _DIGITS
        else:  # other categories (\w \s \W ...), wide enough to overlap anything
            return ANY
    return found


class _Analysis:
    """One pattern's parse, walked for the shapes that backtrack."""

    def __init__(self, parsed: Any) -> None:
        self.ignore_case = bool(parsed.state.flags & sre.SRE_FLAG_IGNORECASE)

    # --- what a sub-pattern can match --------------------------------------------------------

    def chars(self, seq: Any) -> Chars:
        """Every character the sequence may consume."""
        found = NONE
        for op, av in seq:
            found = found | self._item_chars(op, av)
        return found

    def _item_chars(self, op: Any, av: Any) -> Chars:
        if op is sre.LITERAL:
            return _char(av, self.ignore_case)
        if op is sre.IN:
            return _class(av, self.ignore_case)
        if op in (sre.ANY, sre.NOT_LITERAL, sre.GROUPREF):
            return ANY
        return self._nested(op, av, self.chars, NONE)

    def first(self, seq: Any) -> Chars:
        """The characters a match of the sequence may start with."""
        found = NONE
        for op, av in seq:
            found = found | self._item_first(op, av)
            if not self.nullable_item(op, av):
                break
        return found

    def _item_first(self, op: Any, av: Any) -> Chars:
        if op in (sre.LITERAL, sre.IN, sre.ANY, sre.NOT_LITERAL, sre.GROUPREF):
            return self._item_chars(op, av)
        return self._nested(op, av, self.first, NONE)

    def nullable(self, seq: Any) -> bool:
        return all(self.nullable_item(op, av) for op, av in seq)

    def nullable_item(self, op: Any, av: Any) -> bool:
        if op in _REPEATS:
            return bool(av[0] == 0 or self.nullable(av[2]))
        if op is sre.BRANCH:
            return any(self.nullable(branch) for branch in av[1])
        if op in (sre.SUBPATTERN, sre.ATOMIC_GROUP):
            return self.nullable(_body(op, av))
        if op is sre.GROUPREF_EXISTS:
            return True
        return op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT)

    def _nested(self, op: Any, av: Any, each: Any, empty: Chars) -> Chars:
        if op in _REPEATS:
            return each(av[2])  # type: ignore[no-any-return]
        if op is sre.BRANCH:
            found = empty
            for branch in av[1]:
                found = found | each(branch)
            return found
        if op in (sre.SUBPATTERN, sre.ATOMIC_GROUP):
            return each(_body(op, av))  # type: ignore[no-any-return]
        if op is sre.GROUPREF_EXISTS:
            return each(av[1]) | (each(av[2]) if av[2] is not None else empty)  # type: ignore[no-any-return]
        return empty  # anchors and look-arounds consume nothing

    # --- the shapes that backtrack ------------------------------------------------------------

    def problems(self, seq: Any, top: bool) -> list[str]:
        found: list[str] = []
        items = list(seq)
        for op, av in items:
            if op in _REPEATS:
                found += self._repeat_problems(av)
            for sub in _subsequences(op, av):
                found += self.problems(sub, top=False)
        found += self._adjacent_problems(items, top)
        return found

    def _repeat_problems(self, av: Any) -> list[str]:
        _, high, body = av
        if high <= 1:
            return []
        if _has_unbounded(body):
            return [
                "a repetition inside a repetition can try exponentially many ways to match "
                "(nested quantifiers such as (a+)+ or (.*)*)"
            ]
        found = []
        if high == _UNBOUNDED and self._ending_overlaps_start(body):
            found.append(
                "a repeated part ends with a variable repetition its next round can also start "
                "with, so the rounds can be cut in exponentially many ways (such as (a{1,5})*)"
            )
        if self._ambiguous_branches(body):
            found.append(
                "an alternation under a repetition has branches that can match the same text "
                "(such as (a|a)* or (a|ab)*), which tries exponentially many ways"
            )
        return found

    def _ending_overlaps_start(self, body: Any) -> bool:
        return self._ends_with_overlap(body, self.first(body))

    def _ends_with_overlap(self, seq: Any, start: Chars) -> bool:
        """Whether the sequence may end inside a variable repetition over `start`'s characters."""
        for op, av in reversed(list(seq)):
            if op in _REPEATS and av[0] != av[1] and self.chars(av[2]).overlaps(start):
                return True
            if op in (sre.SUBPATTERN, sre.ATOMIC_GROUP, sre.BRANCH) and any(
                self._ends_with_overlap(sub, start) for sub in _subsequences(op, av)
            ):
                return True
            if not self.nullable_item(op, av):
                return False
        return False

    def _ambiguous_branches(self, body: Any) -> bool:
        for op, av in _walk(body):
            if op is not sre.BRANCH:
                continue
            branches = av[1]
            if any(self.nullable(b) for b in branches):
                return True
            starts = [self.first(b) for b in branches]
            if any(a.overlaps(b) for i, a in enumerate(starts) for b in starts[i + 1 :]):
                return True
        return False

    def _adjacent_problems(self, items: list[tuple[Any, Any]], top: bool) -> list[str]:
        """Two unbounded repetitions over shared characters with only optional items between."""
        previous: Chars | None = None
        for index, (op, av) in enumerate(items):
            if op in _REPEATS and av[1] == _UNBOUNDED:
                here = self.chars(av[2])
                rest_can_fail = not top or index + 1 < len(items)
                if previous is not None and previous.overlaps(here) and rest_can_fail:
                    return [
                        "two unbounded repetitions over the same characters follow each other "
                        "(such as .*.* or \\d+\\d*), so a failing match tries every way to "
                        "share the text between them"
                    ]
                previous = here if previous is None else previous | here
            elif not self.nullable_item(op, av):
                previous = None
        return []


def _body(op: Any, av: Any) -> Any:
    return av[-1] if op is sre.SUBPATTERN else av


def _subsequences(op: Any, av: Any) -> list[Any]:
    if op in _REPEATS:
        return [av[2]]
    if op is sre.BRANCH:
        return list(av[1])
    if op in (sre.SUBPATTERN, sre.ATOMIC_GROUP):
        return [_body(op, av)]
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        return [av[1]]
    if op is sre.GROUPREF_EXISTS:
        return [av[1]] + ([av[2]] if av[2] is not None else [])
    return []


def _walk(seq: Any) -> list[tuple[Any, Any]]:
    found = []
    for op, av in seq:
        found.append((op, av))
        for sub in _subsequences(op, av):
            found += _walk(sub)
    return found


def _has_unbounded(seq: Any) -> bool:
    return any(op in _REPEATS and av[1] == _UNBOUNDED for op, av in _walk(seq))


def _expansion(seq: Any) -> int:
    """How many items the sequence is once its counted repetitions are written out."""
    total = 0
    for op, av in seq:
        if op in _REPEATS:
            low, high, body = av
            times = high if high != _UNBOUNDED else max(low, 1)
            total += times * _expansion(body)
        elif op is sre.BRANCH:
            total += sum(_expansion(b) for b in av[1])
        else:
            subs = _subsequences(op, av)
            total += sum(_expansion(s) for s in subs) if subs else 1
        if total > MAX_REGEX_REPETITION:  # stop early: (a{1000}){1000}{1000} is huge
            return total
    return total


@lru_cache(maxsize=1024)
def problem(pattern: str) -> str | None:
    """Why `pattern` may not be used in a rule (with the way out), or None when it may."""
    if len(pattern) > MAX_REGEX_CHARS:
        return (
            f"the regular expression is {len(pattern):,} characters, more than the "
            f"{MAX_REGEX_CHARS:,} a pattern may have; test a shorter pattern"
        )
    try:
        parsed = sre_parse.parse(pattern)
    except (sre.error, RecursionError, OverflowError) as exc:
        return f"the regular expression is invalid: {exc}"
    expansion = _expansion(parsed)
    if expansion > MAX_REGEX_REPETITION:
        return (
            f"the regular expression repeats its parts to more than {MAX_REGEX_REPETITION:,} "
            "items (such as (a{1000}){1000}); use smaller counts"
        )
    analysis = _Analysis(parsed)
    found = analysis.problems(parsed, top=True)
    if found:
        return f"the regular expression may backtrack catastrophically: {found[0]}; {_WAY_OUT}"
    return _too_large_for_polars(pattern)


def _too_large_for_polars(pattern: str) -> str | None:
    """Rust's regex refuses a pattern whose compiled program exceeds its size limit; any other
    refusal means a feature only Python has, and Python then runs the pattern."""
    for rust in (pattern, f"^(?:{pattern})"):
        try:
            pl.select(pl.lit("").str.contains(rust))
        except pl.exceptions.PolarsError as exc:
            if "size limit" in str(exc):
                return (
                    "the regular expression compiles too large for the matcher (its compiled "
                    "form exceeds the 10 MB Rust's regex allows; Unicode classes such as \\w "
                    "count many times over); use fewer repetitions or ASCII classes like [0-9]"
                )
    return None
