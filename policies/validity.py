"""Whether a policy is in force on a date: THE check every promise goes through.

A policy document has a validity window (`valid_from` .. `valid_to`, both inclusive). On a date
outside it the policy qualifies nobody, whatever its rules say: a match stores no qualification
for it, a preview counts none, an explanation says "not in force", the firm page does not list
it as qualified, a redemption's re-check refuses it and an automatic grant gives nothing. Every
one of them asks `out_of_force` (or `in_force`) here, so they cannot disagree.

The rules themselves (the reference `language.evaluate_firm`, the compiled matcher) know nothing
of the window: they say what a policy would give; this says whether it gives anything at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from subsidy import i18n


class Windowed(Protocol):
    """What the check reads of a policy document."""

    @property
    def id(self) -> str: ...
    @property
    def valid_from(self) -> dt.date: ...
    @property
    def valid_to(self) -> dt.date: ...


@dataclass(frozen=True)
class OutOfForce:
    """Why a policy gives nothing on `as_of`: the date is outside its validity window."""

    policy_id: str
    as_of: dt.date
    valid_from: dt.date
    valid_to: dt.date

    @property
    def not_yet(self) -> bool:
        """Before the window (not yet valid), rather than after it (expired)."""
        return self.as_of < self.valid_from

    @property
    def key(self) -> str:
        """Its words in the catalogs (`promises.po`)."""
        return "promises.not_yet_valid" if self.not_yet else "promises.expired"

    @property
    def values(self) -> dict[str, object]:
        return {
            "as_of": self.as_of.isoformat(),
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat(),
        }

    def text(self, language: i18n.Language) -> str:
        return i18n.text(language, self.key, **self.values)

    def __str__(self) -> str:
        return self.text("en")


def out_of_force(document: Windowed, as_of: dt.date) -> OutOfForce | None:
    """None when the policy is in force on `as_of`, else why not."""
    if document.valid_from <= as_of <= document.valid_to:
        return None
    return OutOfForce(document.id, as_of, document.valid_from, document.valid_to)


def in_force(document: Windowed, as_of: dt.date) -> bool:
    return out_of_force(document, as_of) is None
