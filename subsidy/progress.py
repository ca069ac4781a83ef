"""How long-running work reports its progress, without knowing who is watching.

Services take a `Progress`; the CLI passes one that draws rich progress bars, tasks and tests pass
`NO_PROGRESS` or their own.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def stage(self, name: str, total: int | None = None) -> None:
        """A new stage begins; `total` is its number of units when known."""

    def advance(self, units: int) -> None:
        """`units` more of the current stage are done."""


class _NoProgress:
    def stage(self, name: str, total: int | None = None) -> None:
        pass

    def advance(self, units: int) -> None:
        pass


NO_PROGRESS: Progress = _NoProgress()
