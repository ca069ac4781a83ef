"""Why a registry import was refused (see the hierarchy in `subsidy.errors`).

A `Problem`'s message is computed for a whole column at once (polars, `validation.py`), so it is
English text; its code and fields are read back from it: each code of `PROBLEM_CODES` has English
words in `errors.po` whose rendering is the message, so `Problem.message_in` finds the code
whose words match and fills the target language's words with the same fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from subsidy import i18n
from subsidy.errors import QinqingError, counted, english, read_back, worded

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
    """A registry import was refused, the registry exactly as it was; or the registry cannot be
    read (none imported yet). Over HTTP (a preview reads it) both say: not now (409)."""

    code = "registry.refused"
    status, slug, title = 409, "registry-unavailable", "The registry cannot be read"
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


# --- registry declarations (`subsidy.registry.declarations`) ---------------------------------

DECLARATION_CODES = (
    "declaration.yaml",
    "declaration.too_large",
    "declaration.too_deep",
    "declaration.alias",
    "declaration.required",
    "declaration.unknown_field",
    "declaration.unknown_field_hint",
    "declaration.repeated_field",
    "declaration.not_list",
    "declaration.not_mapping",
    "declaration.not_text",
    "declaration.empty",
    "declaration.too_long",
    "declaration.bad_source_name",
    "declaration.reserved_source",
    "declaration.repeated_source",
    "declaration.bad_key",
    "declaration.no_columns",
    "declaration.too_many_columns",
    "declaration.bad_column_name",
    "declaration.keyword",
    "declaration.builtin_column",
    "declaration.repeated_column",
    "declaration.bad_type",
    "declaration.bad_type_hint",
    "declaration.not_bool",
    "declaration.bad_number",
    "declaration.not_for_kind",
    "declaration.removed_in_use",
    "declaration.retyped_in_use",
)
"""What can be wrong with one field of a registry declaration, by code."""


@dataclass(frozen=True)
class DeclarationProblem:
    """One thing wrong with a declaration: where (document, line, field path) and what (code)."""

    document: str
    path: str
    """The field as `sources[1].columns.rd_expense.type`; empty for the document as a whole."""
    line: int | None
    code: str
    fields: dict[str, object] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return english(self.code, self.fields)

    def message_in(self, language: i18n.Language) -> str:
        return worded(language, self.code, self.fields, self.message)

    def shown(self, language: i18n.Language) -> str:
        """`demo.yaml, line 12: sources[0].columns.x.type: 'number' is not a type; ...`"""
        message = self.message_in(language)
        if self.path:
            message = i18n.text(language, "error_place.in_field", field=self.path, message=message)
        if self.line is not None:
            message = i18n.text(language, "error_place.line", line=self.line, message=message)
        return i18n.text(
            language, "error_place.declaration", document=self.document, message=message
        )

    def __str__(self) -> str:
        return self.shown("en")


class DeclarationError(QinqingError):
    """A declaration was refused; nothing was declared. `problems` lists every problem."""

    code = "declaration.invalid"
    variants: ClassVar[tuple[str, ...]] = ("declaration.invalid_one",)
    status, slug, title = 422, "invalid-declaration", "The registry declaration is refused"

    def __init__(self, document: str, problems: list[DeclarationProblem]) -> None:
        self.document = document
        self.problems = problems
        code = "declaration.invalid_one" if len(problems) == 1 else type(self).code
        super().__init__(code=code, document=document, count=len(problems))
        self.args = (self.message_in("en"),)  # the CLI and logs read every problem

    def message_in(self, language: i18n.Language) -> str:
        lines = [problem.shown(language) for problem in self.problems]
        return "\n".join([super().message_in(language), *lines])

    @property
    def detail(self) -> str:
        return counted(self.document, len(self.problems))

    def extra(self) -> dict[str, object]:
        """Every problem: the field's path, its line (1-based) when known, code and words."""
        placed = [
            {"field": p.path, "line": p.line, "code": p.code, "message": p.message}
            for p in self.problems
        ]
        return {"problems": placed}
