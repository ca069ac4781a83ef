"""Why a registry import was refused (see the hierarchy in `subsidy.errors`).

A `Problem`'s message is computed for a whole column at once (polars, `validation.py`), so it is
English text; its code and fields are read back from it: each code of `PROBLEM_CODES` has English
words in `errors.po` whose rendering is the message, so `Problem.message_in` finds the code
whose words match and fills the target language's words with the same fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from subsidy import i18n
from subsidy.errors import QinqingError, read_back, worded

PROBLEM_CODES = (
    "registry.uscc_length",
    "registry.uscc_shape",
    "registry.uscc_check",
    "registry.column_missing",
    "registry.unknown_column",
    "registry.column_repeated",
    "registry.required",
    "registry.not_a_choice",
    "registry.bad_industry",
    "registry.bad_bool",
    "registry.bad_date",
    "registry.too_long",
    "registry.control_character",
    "registry.bad_amount",
    "registry.negative",
    "registry.bad_integer",
    "registry.bad_decimal",
    "registry.repeated_key",
    "registry.unknown_firm",
    "registry.unknown_person",
    "registry.leave_before_hire",
    "registry.formula",
    "registry.more_formulas",
    "registry.ragged",
    "registry.number_too_long",
    "registry.error_cell",
    "registry.more_error_cells",
    "statement.repeated_reference",
    "statement.reference_too_long",
    "statement.bad_kind",
    "statement.bad_amount",
    "statement.too_many_decimals",
    "statement.not_positive",
    "statement.too_large",
    "statement.cells_mismatch",
    "statement.no_header",
)
"""The problems a file's cells can have (registry imports and bank files), by code."""


def problem_code(message: str) -> tuple[str, dict[str, object]]:
    """The code and fields of a problem's English message (`registry.problem` when none fits)."""
    return read_back(message, PROBLEM_CODES) or ("registry.problem", {"detail": message})


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

    @property
    def code(self) -> str:
        return problem_code(self.message)[0]

    def message_in(self, language: i18n.Language) -> str:
        """What is wrong with the cell, in `language`."""
        code, fields = problem_code(self.message)
        return worded(language, code, fields, self.message)

    def shown(self, language: i18n.Language) -> str:
        """The problem as a person reads it: file, row, column, value and what is wrong."""
        value = "" if self.value is None else _quote(self.value)
        return i18n.text(
            language,
            "error_place.cell",
            file=self.file,
            row="—" if self.row is None else self.row,
            column=self.column or "—",
            value=value,
            message=self.message_in(language),
        )


def _quote(value: str, limit: int = 60) -> str:
    shown = value if len(value) <= limit else value[: limit - 1] + "…"
    return repr(shown)


class RegistryError(QinqingError):
    """A registry import was refused; the registry is exactly as it was."""

    code = "registry.refused"
    variants: ClassVar[tuple[str, ...]] = (
        "registry.not_imported",
        "registry.undeclared_source",
        "registry.no_sources",
    )


class RegistryFileError(RegistryError):
    """The file cannot be read at all. Raised with the reader's words; the commonest are read
    back to their codes (`FILE_CODES`), the others keep them after `registry.unreadable`."""

    code = "registry.unreadable"
    variants: ClassVar[tuple[str, ...]] = (
        "registry.unsupported_type",
        "registry.no_such_file",
        "registry.cannot_read",
        "registry.no_header",
        "registry.too_many_columns",
        "registry.too_many_rows",
        "registry.gbk",
        "registry.not_utf8",
    )

    def __init__(self, message: str) -> None:
        super().__init__(message)
        found = read_back(message, FILE_CODES)
        if found is not None:
            self.code, self.fields = found


FILE_CODES = RegistryFileError.variants


class RegistryValidationError(RegistryError):
    """The file breaks the registry contract; `problems` lists every problem, in file order."""

    code = "registry.invalid"
    variants: ClassVar[tuple[str, ...]] = ("registry.invalid_one",)

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        code = "registry.invalid_one" if len(problems) == 1 else type(self).code
        super().__init__(code=code, source=source, count=len(problems))

    def message_in(self, language: i18n.Language) -> str:
        lines = [problem.shown(language) for problem in self.problems]
        return "\n".join([super().message_in(language), *lines])
