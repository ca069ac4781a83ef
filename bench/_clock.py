"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import time


class StageClock:
    """A `Progress` that records how long each stage of a run took, by its first word."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._stage: str | None = None
        self._started = time.perf_counter()

    def stage(self, name: str, total: int | None = None) -> None:
        self._close()
        self._stage = name.split()[0]  # "reading x.parquet" -> "reading"
        self._started = time.perf_counter()

    def advance(self, units: int) -> None:
        pass

    def _close(self) -> None:
        if self._stage is not None:
            self.seconds[self._stage] = time.perf_counter() - self._started

    def finish(self) -> dict[str, float]:
        self._close()
        return self.seconds
