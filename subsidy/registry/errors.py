"""Why a registry import was refused (see the hierarchy in `subsidy.errors`)."""

from __future__ import annotations

from dataclasses import dataclass

from subsidy.errors import QinqingError


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an import file, located as the user sees the file.

    `row` counts the header as row 1, so the first record is row 2; it is None for a problem with
    the file as a whole. `column` is None for a problem that is not about one column.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        value = "" if self.value is None else f" {_quote(self.value)}"
        return f"{', '.join(where)}:{value} {self.message}"


def _quote(value: str, limit: int = 60) -> str:
    shown = value if len(value) <= limit else value[: limit - 1] + "…"
    return repr(shown)


class RegistryError(QinqingError):
    """A registry import was refused; the registry is exactly as it was."""


class RegistryFileError(RegistryError):
    """The file cannot be read at all."""


class RegistryValidationError(RegistryError):
    """The file breaks the registry contract; `problems` lists every problem, in file order."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{source}: {len(problems)} {noun}; nothing was imported")
