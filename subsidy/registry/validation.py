"""Checking a registry file against the contract, for all rows at once, before anything is written.

Every cell is parsed by its column's kind (`schema.Kind`); a cell that does not parse, a required
cell that is empty, a negative amount, a bad USCC, a duplicate key, an employee of an unknown firm
or a leave date before the hire date each become a `Problem` naming the file, the row (header = row
1), the column and the value. Nothing is silently coerced: an amount with three decimals is refused,
not rounded. Text cells are trimmed and an empty cell is a null.
"""

from __future__ import annotations

import polars as pl

from subsidy.registry import uscc
from subsidy.registry.errors import Problem, RegistryValidationError
from subsidy.registry.schema import DECIMAL_PRECISION, MONEY_DTYPE, Column, Kind, Table

ROW = "__row"
FIRST_RECORD_ROW = 2  # the header is row 1
_PROBLEM = "__problem:"
_BOOLS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
_MONEY_TEXT = r"^-?[0-9]{1,14}(\.[0-9]{1,2})?$"
_INDUSTRY = r"^[A-T]([0-9]{2}([0-9]{1,2})?)?$"
_MIDNIGHT = r"[ T]00:00(:00(\.0+)?)?$"
_WITH_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}"
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"  # C0 but tab and line breaks
_NO_PROBLEM = pl.lit(None, dtype=pl.String)
_INTEGER_TEXT = r"^[+-]?[0-9]{1,18}$"
_BAD_INTEGER = "is not a whole number (at most 18 digits, e.g. 12)"
_MAX_INTEGER = 10**18 - 1


def validate(
    raw: pl.DataFrame,
    table: Table,
    source: str,
    *,
    known_usccs: pl.Series | None = None,
    known_people: pl.Series | None = None,
) -> pl.DataFrame:
    """The file's rows typed as `table.polars_schema`, or RegistryValidationError with them all.

    `known_usccs`, for the employee registry or a source keyed by firm, are the firms a row may
    name; `known_people`, for a source keyed by person, the employees a row may name.
    """
    header = _header_problems(raw, table, source)
    if header:
        raise RegistryValidationError(source, header)
    checked = raw.select(table.names).with_row_index(ROW, offset=FIRST_RECORD_ROW)
    checked = checked.with_columns(_cell_checks(raw.schema, table))
    repeated = checked.select(pl.col(table.key).drop_nulls().is_unique().all().not_()).item()
    for check in _table_checks(table, known_usccs, known_people, repeated=repeated):
        # One at a time: two checks may blame the same column (a source keyed by `uscc`).
        checked = checked.with_columns(check)
    problems = _problems(checked, raw, table, source)
    if problems:
        raise RegistryValidationError(source, problems)
    return checked.select(table.names)


def _header_problems(raw: pl.DataFrame, table: Table, source: str) -> list[Problem]:
    missing = [n for n in table.names if n not in raw.columns]
    unknown = [n for n in raw.columns if n not in table.names]
    duplicated = {n for n in raw.columns if raw.columns.count(n) > 1}
    return (
        [Problem(source, 1, n, None, "column is missing") for n in missing]
        + [Problem(source, 1, n, None, f"unknown column for {table.name}") for n in unknown]
        + [Problem(source, 1, n, None, "column appears more than once") for n in duplicated]
    )


def _cell_checks(schema: pl.Schema, table: Table) -> list[pl.Expr]:
    """For each column: its typed value (replacing it) and its problem message (beside it)."""
    exprs: list[pl.Expr] = []
    for column in table.columns:
        value, problem = _parse(column, schema[column.name])
        if not column.nullable:
            missing = pl.col(column.name).is_null() | (_text(column.name).is_null())
            problem = pl.when(missing).then(pl.lit("is required")).otherwise(problem)
        exprs += [value.alias(column.name), problem.alias(_PROBLEM + column.name)]
    return exprs


def _text(name: str) -> pl.Expr:
    """The cell as trimmed text, an empty cell as null (typed Parquet cells are cast to text)."""
    text = pl.col(name).cast(pl.String).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def _parse(column: Column, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    """(typed value, problem message) of a column; the value is null where there is a problem."""
    cell = pl.col(column.name)
    if dtype == column.dtype and column.kind in (Kind.DATE, Kind.BOOL):
        return cell, _NO_PROBLEM
    if column.kind is Kind.MONEY and (dtype.is_integer() or _is_exact_money(dtype)):
        value = cell.cast(MONEY_DTYPE, strict=False)
        return _money(value, malformed=cell.is_not_null() & value.is_null())
    if column.kind is Kind.INTEGER and dtype.is_integer():
        # A typed integer cell (Parquet) is taken as it is, within the bounds of a written one:
        # its round trip through text would cost more than every other check together.
        value = cell.cast(pl.Int64, strict=False)
        within = value.is_between(-_MAX_INTEGER, _MAX_INTEGER)
        return _where_ok(cell, value, within, _BAD_INTEGER)
    text = _text(column.name)
    match column.kind:
        case Kind.USCC:
            return text, text.map_batches(uscc.problems, return_dtype=pl.String)
        case Kind.TEXT:
            return _free_text(text, column.max_length)
        case Kind.CHOICE:
            allowed = ", ".join(column.choices)
            return _where_ok(text, text, text.is_in(column.choices), f"must be one of {allowed}")
        case Kind.INDUSTRY:
            return _where_ok(
                text,
                text,
                text.str.contains(_INDUSTRY),
                "is not a GB/T 4754 industry code (a section letter A-T, then 2 to 4 digits)",
            )
        case Kind.BOOL:
            value = text.str.to_lowercase().replace_strict(
                _BOOLS, default=None, return_dtype=pl.Boolean
            )
            return _where_ok(text, value, value.is_not_null(), "is not true or false")
        case Kind.DATE:
            return _date(text)
        case Kind.MONEY:
            well_formed = text.str.contains(_MONEY_TEXT)
            value = pl.when(well_formed).then(text.cast(MONEY_DTYPE, strict=False))
            return _money(value, malformed=well_formed.not_())
        case Kind.INTEGER:
            ok = text.str.contains(_INTEGER_TEXT)
            value = pl.when(ok).then(text.str.replace(r"^\+", "").cast(pl.Int64, strict=False))
            return _where_ok(text, value, value.is_not_null(), _BAD_INTEGER)
        case Kind.DECIMAL:
            scale = column.dtype.scale if isinstance(column.dtype, pl.Decimal) else 0
            shape = rf"^[+-]?[0-9]{{1,{DECIMAL_PRECISION - scale}}}(\.[0-9]{{1,{scale}}})?$"
            ok = text.str.contains(shape) if scale else text.str.contains(_INTEGER_TEXT)
            value = pl.when(ok).then(text.str.replace(r"^\+", "").cast(column.dtype, strict=False))
            message = f"is not a number with at most {scale} decimals (digits, a point, e.g. 0.035)"
            return _where_ok(text, value, value.is_not_null(), message)


def _date(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """A date, written YYYY-MM-DD or a date cell (read as its date at 00:00:00); a time of day
    other than midnight is refused by name, not dropped."""
    value = text.str.replace(_MIDNIGHT, "").str.to_date("%Y-%m-%d", strict=False)
    bad = text.is_not_null() & value.is_null()
    timed = text.str.contains(_WITH_TIME)
    problem = (
        pl.when(bad & timed)
        .then(pl.lit("has a time of day; a date column takes the date alone (YYYY-MM-DD)"))
        .when(bad)
        .then(pl.lit("is not a date (YYYY-MM-DD)"))
        .otherwise(_NO_PROBLEM)
    )
    return value, problem


def _free_text(text: pl.Expr, max_length: int | None) -> tuple[pl.Expr, pl.Expr]:
    """Text within its column's length, without control characters but tabs and line breaks
    (a NUL cannot be stored in PostgreSQL; the others mean nothing in a name)."""
    chars = text.str.len_chars()
    long = (chars > (max_length or 0)).fill_null(False) if max_length else pl.lit(False)
    control = text.str.contains(_CONTROL).fill_null(False)
    problem = (
        pl.when(long)
        .then(pl.format(f"has {{}} characters; at most {max_length} are allowed", chars))
        .when(control)
        .then(pl.lit("holds a control character (such as NUL): remove it"))
        .otherwise(_NO_PROBLEM)
    )
    return pl.when(long | control).then(None).otherwise(text), problem


def _is_exact_money(dtype: pl.DataType) -> bool:
    return isinstance(dtype, pl.Decimal) and (dtype.scale or 0) <= 2


def _where_ok(text: pl.Expr, value: pl.Expr, ok: pl.Expr, message: str) -> tuple[pl.Expr, pl.Expr]:
    """Null the value and give `message` where a cell that is present (`text`) is not `ok`."""
    bad = text.is_not_null() & ok.not_().fill_null(False)
    return (
        pl.when(bad).then(None).otherwise(value),
        pl.when(bad).then(pl.lit(message)).otherwise(_NO_PROBLEM),
    )


def _money(value: pl.Expr, malformed: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    malformed = malformed.fill_null(False)
    problem = (
        pl.when(malformed)
        .then(pl.lit("is not an amount in yuan (at most 14 digits and 2 decimals)"))
        .when(value < 0)
        .then(pl.lit("must not be negative"))
        .otherwise(_NO_PROBLEM)
    )
    return pl.when(malformed | (value < 0).fill_null(False)).then(None).otherwise(value), problem


def _table_checks(
    table: Table,
    known_usccs: pl.Series | None,
    known_people: pl.Series | None,
    *,
    repeated: bool = True,
) -> list[pl.Expr]:
    """Checks across rows or columns, on the typed values, each beside the column it blames.

    The repeated-key check only runs when `repeated` says a key appears twice: its message is
    formatted for every row, which costs a second on millions of them."""
    checks = []
    if repeated:
        key = pl.col(table.key)
        first_row = pl.col(ROW).min().over(table.key)
        duplicate = key.is_not_null() & (pl.col(ROW) != first_row)
        message = pl.format("appears again: first on row {}", first_row)
        checks.append(_or(table.key, duplicate, message))
    if known_usccs is not None:
        uscc = pl.col("uscc")
        unknown = uscc.is_not_null() & uscc.is_in(known_usccs.implode()).not_()
        checks.append(_or("uscc", unknown, pl.lit("is not in the enterprise registry")))
    if known_people is not None:
        person = pl.col("person_id")
        unknown = person.is_not_null() & person.is_in(known_people.implode()).not_()
        checks.append(_or("person_id", unknown, pl.lit("is not in the employee registry")))
    if "leave_date" in table.names:
        early = pl.col("leave_date") < pl.col("hire_date")
        message = pl.format("is before hire_date {}", pl.col("hire_date").cast(pl.String))
        checks.append(_or("leave_date", early, message))
    return checks


def _or(name: str, condition: pl.Expr, message: pl.Expr) -> pl.Expr:
    """Keep the column's first problem; add `message` where `condition` holds and it had none."""
    added = pl.when(condition).then(message).otherwise(_NO_PROBLEM)
    return pl.coalesce(pl.col(_PROBLEM + name), added).alias(_PROBLEM + name)


def _problems(checked: pl.DataFrame, raw: pl.DataFrame, table: Table, source: str) -> list[Problem]:
    problem_columns = [_PROBLEM + n for n in table.names]
    if (
        checked.select(pl.any_horizontal(pl.col(problem_columns).is_not_null()).any()).item()
        is not True
    ):
        return []
    cells = raw.select(
        pl.int_range(FIRST_RECORD_ROW, pl.len() + FIRST_RECORD_ROW, dtype=pl.UInt32).alias(ROW),
        *[pl.col(n).cast(pl.String) for n in table.names],
    )
    found = (
        checked.select(ROW, *problem_columns)
        .unpivot(index=ROW, variable_name="column", value_name="message")
        .drop_nulls("message")
        .with_columns(pl.col("column").str.strip_prefix(_PROBLEM))
    )
    values = cells.unpivot(index=ROW, variable_name="column", value_name="value")
    order = {n: i for i, n in enumerate(table.names)}
    found = found.join(values, on=[ROW, "column"], how="left").sort(
        pl.col(ROW), pl.col("column").replace_strict(order, return_dtype=pl.Int32)
    )
    return [
        Problem(source, row, column, value, message)
        for row, column, message, value in found.iter_rows()
    ]
