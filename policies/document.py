"""The policy document: its schema, and loading it from YAML or JSON with exact numbers.

Numbers never pass through float: a yuan amount such as 0.1 must stay 0.1, so YAML and JSON
numbers are read straight from their text into Decimal. Every problem is reported with the field
path and, when the text is available, the line and column of that field in the file, because a
policy officer fixes a document in an editor, not in a stack trace.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import re
import weakref
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

import rule_engine.errors
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails
from rule_engine.parser import Parser

from policies.clauses import split_clauses
from policies.errors import Issue, PolicyDocumentError
from policies.language import FIRM_TYPES, ParameterValue
from policies.limits import MAX_DOCUMENT_NESTING, document_problem
from subsidy.errors import read_back
from subsidy.i18n import DEFAULT, LANGUAGES
from subsidy.registry.schema import EMPLOYEES, ENTERPRISES, Column, Kind, Table

FieldPath = tuple[str | int, ...]
"""Where a value sits in the document: `("tests", 2, "expect", "amount")`."""

SLUG = r"^[a-z0-9][a-z0-9-]{2,63}$"
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED = frozenset(Parser.reserved_words)
"""rule-engine keywords (`and`, `in`, `null`, ...): a parameter so named could never be read."""


def _refuse_float(value: object) -> object:
    """A float has already lost the fen; only Decimal, int or text may become money."""
    if isinstance(value, float):
        raise ValueError("numbers must not be floats; write them as Decimal or text")
    return value


Money = Annotated[
    Decimal, BeforeValidator(_refuse_float), Field(gt=0, decimal_places=2, allow_inf_nan=False)
]
"""A positive yuan amount with at most two decimals."""


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parameter_value(value: object) -> ParameterValue:
    """One clear message instead of one error per member of the union.

    Text that is exactly an ISO date is a date: JSON has no dates, and a stored version (canonical
    JSON) must load back to the same parameters.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a valid date") from None
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError("a parameter must be a finite number")
    if isinstance(value, Decimal | str | bool | dt.date):
        return value
    raise ValueError("a parameter value must be a number, text, true/false or a date")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameter(_Strict):
    """A named value usable in rules; its `basis` says which article fixes it."""

    value: Annotated[ParameterValue, PlainValidator(_parameter_value)]
    basis: Annotated[str, Field(min_length=1, pattern=r"\S")]


def _test_row(table: Table) -> Any:
    """Test firms name columns, with dates as dates (JSON writes them as text) and numbers
    exact. A built-in column's cell is typed here; a name the registry does not hold may be a
    declared source's column, which only the catalog in force knows: `test_row_issues` (at
    check time) refuses it when it is not one, with the name closest to it, and
    `typed_test_row` types its cells."""
    known = {c.name: c.kind for c in table.columns if c.name != "uscc" or table is ENTERPRISES}

    def check(row: dict[str, Any]) -> dict[str, Any]:
        # Never a column: not a name a rule could read, or the employee's own `uscc`.
        misnamed = [
            n for n in row if not IDENTIFIER.fullmatch(n) or (n in table.names and n not in known)
        ]
        if misnamed:
            raise ValueError("; ".join(_unknown_column(n, list(known)) for n in misnamed))
        return {name: _cell(name, value, known.get(name)) for name, value in row.items()}

    return AfterValidator(check)


def _cell(name: str, value: Any, kind: Kind | None) -> Any:
    """A cell typed by its column's kind (None: a declared column, typed at check time)."""
    if isinstance(value, float):
        raise ValueError(f"{name}: numbers must not be floats")
    if isinstance(value, dt.datetime):
        raise ValueError(f"{name}: give a date without a time")
    if kind is Kind.DATE and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return value


def _unknown_column(name: str, allowed: list[str]) -> str:
    return f"unknown column {name!r}" + _did_you_mean(name, allowed)


def _did_you_mean(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def test_row_problems(row: dict[str, Any], columns: Sequence[Column]) -> list[str]:
    """Why a test firm's (or employee's) row does not fit `columns`, the catalog's: each
    unknown name with the closest known one, each declared cell of the wrong kind."""
    by_name = {c.name: c for c in columns}
    problems = []
    for name, value in row.items():
        column = by_name.get(name)
        if column is None:
            problems.append(_unknown_column(name, list(by_name)))
        elif column.source is not None:
            try:
                _declared_cell(column, value)
            except ValueError as exc:
                problems.append(str(exc))
    return problems


def typed_test_row(row: dict[str, Any], columns: Sequence[Column]) -> dict[str, Any]:
    """The row with its declared columns' cells typed by their kinds (`test_row_problems`
    found none)."""
    declared = {c.name: c for c in columns if c.source is not None}
    return {
        name: _declared_cell(declared[name], value) if name in declared else value
        for name, value in row.items()
    }


def _declared_cell(column: Column, value: Any) -> Any:
    """A declared column's test cell as the registry would hold it, or ValueError naming it."""
    if value is None:
        return None
    name, kind = column.name, column.kind
    expected: tuple[type, ...]
    match kind:
        case Kind.DATE:
            if isinstance(value, dt.date):
                return value
            return _cell(name, value, Kind.DATE) if isinstance(value, str) else _wrong(column)
        case Kind.BOOL:
            expected = (bool,)
        case Kind.INTEGER:
            if isinstance(value, Decimal) and value == value.to_integral_value():
                return Decimal(int(value))
            return _wrong(column)
        case Kind.MONEY | Kind.DECIMAL:
            expected = (Decimal,)
        case _:
            expected = (str,)
    if not isinstance(value, expected) or (expected != (bool,) and isinstance(value, bool)):
        return _wrong(column)
    return value


_KIND_WORDS = {
    Kind.DATE: "a date (YYYY-MM-DD)",
    Kind.BOOL: "true or false",
    Kind.INTEGER: "a whole number",
    Kind.MONEY: "a number of yuan",
    Kind.DECIMAL: "a number",
}


def _wrong(column: Column) -> Any:
    wanted = _KIND_WORDS.get(column.kind, "text")
    raise ValueError(f"{column.name}: expected {wanted} ({column.kind.value})")


EMPLOYEE_COLUMNS = [name for name in EMPLOYEES.names if name != "uscc"]
EnterpriseRow = Annotated[dict[str, Any], _test_row(ENTERPRISES)]
EmployeeRow = Annotated[dict[str, Any], _test_row(EMPLOYEES)]


class Expectation(_Strict):
    """What a test firm should get. No `amount` means only eligibility is checked."""

    eligible: StrictBool
    amount: Annotated[Decimal | None, BeforeValidator(_refuse_float)] = None

    @model_validator(mode="after")
    def _amount_only_when_eligible(self) -> Expectation:
        if self.amount is not None and not self.eligible:
            raise ValueError("an ineligible firm gets no amount; drop `amount` or expect eligible")
        return self


class PolicyTest(_Strict):
    """One firm given by a few columns (the others are missing) and what the policy gives it."""

    name: Annotated[str, Field(min_length=1)]
    enterprise: EnterpriseRow
    employees: list[EmployeeRow] = []
    as_of: dt.date | None = None
    expect: Expectation


def _parameter_names(parameters: dict[str, Parameter]) -> dict[str, Parameter]:
    """Parameters share the rules' namespace: each must be readable and must not hide a column."""
    problems = [p for p in map(_parameter_name_problem, parameters) if p]
    if problems:
        raise ValueError("; ".join(problems))
    return parameters


class Localized(_Strict):
    """Words a reader sees in their language: Chinese (`zh`, the default language) is required,
    English (`en`) is optional and falls back to the Chinese."""

    zh: str
    en: str | None = None

    def get(self, language: str) -> str:
        """The words in `language`; the Chinese when there are none in it."""
        return (self.en or self.zh) if language == "en" else self.zh


def _localized(value: object) -> str | Localized:
    """A title or summary: plain text (documents written before there were two languages: the
    same words in every language) or a mapping `{zh: ..., en: ...}`; one message that says which
    key is wrong instead of one per member of the union."""
    if isinstance(value, str):
        if not value:
            raise ValueError("must not be empty")
        return value
    if isinstance(value, Localized):
        return value
    if not isinstance(value, dict):
        raise ValueError("give text, or the words per language as {zh: ..., en: ...}")
    unknown = sorted(str(key) for key in value if key not in LANGUAGES)
    if unknown:
        raise ValueError(f"unknown language {unknown[0]!r}: give zh (required) and en (optional)")
    zh, en = value.get(DEFAULT), value.get("en")
    if not isinstance(zh, str) or not zh.strip():
        raise ValueError("zh (Chinese, the default language) is required; en is optional")
    if en is not None and (not isinstance(en, str) or not en.strip()):
        raise ValueError("en must be text when given (leave it out to show the Chinese)")
    return Localized(zh=zh, en=en)


Words = Annotated[str | Localized, BeforeValidator(_localized)]
"""Text in both languages, or one text for both (see `Localized`)."""


def localized(words: str | Localized) -> Localized:
    """Plain text is the same words in every language."""
    return words if isinstance(words, Localized) else Localized(zh=words)


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text


LabelText = Annotated[str, Field(min_length=1), AfterValidator(_not_blank)]


class ClauseLabel(_Strict):
    """What one top-level clause of the eligibility means, in words a business owner reads
    (`{zh: 企业处于存续状态, en: The firm is active}`): both languages are required, since the
    firm's page shows the label in place of the rule."""

    zh: LabelText
    en: LabelText

    def get(self, language: str) -> str:
        return self.en if language == "en" else self.zh

    @property
    def words(self) -> Localized:
        return Localized(zh=self.zh, en=self.en)


def _one_label_per_clause(
    labels: list[ClauseLabel] | None, info: ValidationInfo
) -> list[ClauseLabel] | None:
    """As many labels as the eligibility has top-level clauses (`policies.clauses`), in order.

    An eligibility the lexer cannot read is left to the rule checks, which place its error."""
    eligibility = info.data.get("eligibility")
    if labels is None or not isinstance(eligibility, str):
        return labels
    try:
        clauses = split_clauses(eligibility)
    except rule_engine.errors.EngineError:  # the rule checks report it, placed
        return labels
    if len(clauses) != len(labels):
        listing = "; ".join(f"{n}. {c.text}" for n, c in enumerate(clauses, start=1))
        raise ValueError(
            f"the eligibility has {len(clauses)} clauses but {len(labels)} labels are given;"
            f" give one label per clause, in order: {listing}"
        )
    return labels


class PolicyDocument(_Strict):
    """A subsidy policy as its department writes it (see docs/DESIGN.md, "Policy document").

    `title` and `summary` are `{zh: ..., en: ...}` (zh required, en falling back to zh); a plain
    text title (documents and versions stored before) stays as written, so its canonical JSON and
    content hash do not change."""

    id: Annotated[str, Field(pattern=SLUG)]
    title: Words
    summary: Words | None = None
    department: Annotated[str, Field(min_length=1)]
    basis: Annotated[str, Field(min_length=1)]
    valid_from: dt.date
    valid_to: dt.date
    budget: Money
    mode: Literal["one-click", "automatic"]
    group: Annotated[str, Field(pattern=SLUG)] | None = None
    parameters: Annotated[dict[str, Parameter], AfterValidator(_parameter_names)] = {}
    eligibility: Annotated[str, Field(min_length=1)]
    clauses: Annotated[list[ClauseLabel] | None, AfterValidator(_one_label_per_clause)] = None
    """One label per top-level clause of `eligibility`, in order (after it: its check reads
    the eligibility); None shows the rule text, as before labels existed."""
    amount: Annotated[str, Field(min_length=1)]
    cap: Money | None = None
    review_threshold: Money | None = None
    tests: list[PolicyTest] = []

    @property
    def titles(self) -> Localized:
        return localized(self.title)

    @property
    def summaries(self) -> Localized | None:
        return None if self.summary is None else localized(self.summary)

    def clause_label(self, index: int) -> ClauseLabel | None:
        """The label of the eligibility's clause `index` (0-based), None when unlabelled."""
        if self.clauses is None or index >= len(self.clauses):
            return None
        return self.clauses[index]

    @field_validator("valid_to")
    @classmethod
    def _valid_period(cls, valid_to: dt.date, info: ValidationInfo) -> dt.date:
        valid_from = info.data.get("valid_from")
        if valid_from is not None and valid_to < valid_from:
            raise ValueError(f"valid_to {valid_to} is before valid_from {valid_from}")
        return valid_to


def _parameter_name_problem(name: str) -> str | None:
    if not IDENTIFIER.fullmatch(name):
        return f"parameter name {name!r} is not an identifier (letters, digits, _)"
    if name in FIRM_TYPES:
        return f"parameter {name!r} clashes with the registry column of that name"
    if name in RESERVED:
        return f"parameter {name!r} is a rule-language keyword"
    return None


# --- reading numbers exactly --------------------------------------------------------------


class DecimalLoader(yaml.SafeLoader):
    """A safe YAML loader whose numbers are Decimal, built from the scalar's own text."""


def _construct_float(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal | str:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    cleaned = text.replace("_", "").lower()
    special = {".inf": "Infinity", "+.inf": "Infinity", "-.inf": "-Infinity", ".nan": "NaN"}
    try:
        return Decimal(special.get(cleaned, cleaned))
    except InvalidOperation:
        return text  # e.g. sexagesimal 1:30.5; the schema then refuses it as a number


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    return Decimal(loader.construct_yaml_int(node))  # type: ignore[arg-type]


DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)
DecimalLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


# --- where each field sits in the text -----------------------------------------------------


class SourceMap:
    """The YAML nodes of a document by field path, to place issues at line and column.

    JSON is (nearly) YAML, so a JSON file gets a map too; a text YAML cannot compose gets an
    empty map, and issues then carry no position.
    """

    def __init__(self, source: str, text: str, root: yaml.Node | None) -> None:
        self.source = source
        self.text = text
        self.values: dict[FieldPath, yaml.Node] = {}
        self.keys: dict[FieldPath, yaml.Node] = {}
        self.duplicates: list[FieldPath] = []
        self._seen: set[int] = set()
        if root is not None:
            self._walk(root, ())

    @classmethod
    def of(cls, text: str, source: str) -> SourceMap:
        try:
            root = yaml.compose(text, Loader=DecimalLoader)
        except (yaml.YAMLError, RecursionError):
            root = None
        return cls(source, text, root)

    def _walk(self, node: yaml.Node, path: FieldPath) -> None:
        self.values[path] = node
        if id(node) in self._seen:  # an alias: walk each node once (aliases may be recursive)
            return
        self._seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, str(key.value))
                if child in self.values:
                    self.duplicates.append(child)
                self.keys[child] = key
                self._walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, (*path, index))

    def node(self, path: FieldPath) -> yaml.Node | None:
        return self.values.get(path)

    def position(self, path: FieldPath, *, key: bool = False) -> tuple[int | None, int | None]:
        """1-based line and column of the field's value (or key), else of its nearest parent."""
        if key and path in self.keys:
            return _line_column(self.keys[path].start_mark)
        for depth in range(len(path), -1, -1):
            node = self.values.get(path[:depth])
            if node is not None:
                return _line_column(node.start_mark)
        return None, None

    def line_column(self, index: int) -> tuple[int, int]:
        """1-based line and column of a character offset in the text."""
        line = self.text.count("\n", 0, index) + 1
        return line, index - (self.text.rfind("\n", 0, index) + 1) + 1


def _line_column(mark: yaml.Mark) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


def field_name(path: FieldPath) -> str:
    """`("tests", 2, "expect", "amount")` as `tests[2].expect.amount`."""
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else part)
    return name


# --- loading -------------------------------------------------------------------------------


def load_path(path: str | Path) -> PolicyDocument:
    """Read and validate a policy file (`.yaml`, `.yml` or `.json`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyDocumentError(str(path), [Issue(str(path), "", None, None, str(exc))]) from exc
    return load_document(text, str(path))


def load_document(text: str, source: str) -> PolicyDocument:
    """Parse and validate a policy text; JSON by its `.json` suffix, else YAML."""
    data = parse_text(text, source)
    where = SourceMap.of(text, source)
    document = validate(data, source, where)
    _SOURCES[id(document)] = where
    weakref.finalize(document, _SOURCES.pop, id(document), None)
    return document


_SOURCES: dict[int, SourceMap] = {}
"""The text each loaded document came from, by object identity (equal documents may come from
differently formatted files), dropped with the document."""


def source_map(document: PolicyDocument) -> SourceMap | None:
    """Where the loaded document's fields sit in its text, so rule issues get line and column."""
    return _SOURCES.get(id(document))


def parse_text(text: str, source: str) -> Any:
    """The raw document with Decimal numbers, or PolicyDocumentError placed at the syntax error.

    A text beyond `limits` is refused before parsing: the parsers' time, memory and recursion
    grow with it."""
    too_big = document_problem(text)
    if too_big is not None:
        raise PolicyDocumentError(source, [Issue(source, "", None, None, too_big)])
    try:
        if source.lower().endswith(".json"):
            return _parse_json(text, source)
        return _parse_yaml(text, source)
    except RecursionError:  # `- - - - ...` nests without brackets
        issue = Issue.coded(source, "", None, None, "policy.too_deep", limit=MAX_DOCUMENT_NESTING)
        raise PolicyDocumentError(source, [issue]) from None


def _parse_json(text: str, source: str) -> Any:
    try:
        return json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=Decimal)
    except json.JSONDecodeError as exc:
        issue = Issue.coded(source, "", exc.lineno, exc.colno, "policy.invalid_json", why=exc.msg)
        raise PolicyDocumentError(source, [issue]) from exc


def _parse_yaml(text: str, source: str) -> Any:
    loader = DecimalLoader(text)
    try:
        node = loader.get_single_node()
        return loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = _line_column(mark) if mark else (None, None)
        why = exc.problem or exc.context
        issue = Issue.coded(source, "", line, column, "policy.invalid_yaml", why=why)
        raise PolicyDocumentError(source, [issue]) from exc
    except yaml.YAMLError as exc:
        raise PolicyDocumentError(source, [Issue(source, "", None, None, str(exc))]) from exc
    finally:
        loader.dispose()


def validate(data: Any, source: str, where: SourceMap) -> PolicyDocument:
    """The document model of parsed data, or every schema problem as an Issue."""
    issues = [
        Issue.coded(
            source, field_name(path), *where.position(path, key=True), "policy.duplicate_key"
        )
        for path in where.duplicates
    ]
    if not isinstance(data, dict):
        issues.append(Issue.coded(source, "", 1, 1, "policy.not_a_mapping"))
        raise PolicyDocumentError(source, issues)
    try:
        document = PolicyDocument.model_validate(data)
    except ValidationError as exc:
        issues += [_issue(error, source, where) for error in exc.errors()]
    if issues:
        raise PolicyDocumentError(source, issues)
    return document


_MODELS = (PolicyDocument, PolicyTest, Expectation, Parameter, ClauseLabel)
_FIELD_NAMES = sorted({name for model in _MODELS for name in model.model_fields})


def _issue(error: ErrorDetails, source: str, where: SourceMap) -> Issue:
    path = tuple(error["loc"])
    kind = error["type"]
    line, column = where.position(path, key=kind in ("extra_forbidden", "missing"))
    if kind == "missing":
        return Issue.coded(source, field_name(path), line, column, "policy.missing_field")
    if kind == "extra_forbidden":
        name = str(path[-1])
        close = difflib.get_close_matches(name, _FIELD_NAMES, n=1)
        if close:
            code, fields = "policy.unknown_field_suggested", {"name": name, "suggestion": close[0]}
        else:
            code, fields = "policy.unknown_field", {"name": name}
        return Issue.coded(source, field_name(path), line, column, code, **fields)
    # the schema's own words (pydantic's, or a validator's): kept, their code read back from them
    message = error["msg"].removeprefix("Value error, ")
    read = read_back(message, SCHEMA_CODES) or ("policy.schema", {"detail": message})
    return Issue(source, field_name(path), line, column, message, *read)


SCHEMA_CODES = (
    "policy.schema.string_type",
    "policy.schema.int_parsing",
    "policy.schema.int_from_float",
    "policy.schema.int_type",
    "policy.schema.decimal_parsing",
    "policy.schema.decimal_places",
    "policy.schema.date_parsing",
    "policy.schema.date_inexact",
    "policy.schema.bool_parsing",
    "policy.schema.list_type",
    "policy.schema.dict_type",
    "policy.schema.greater_equal",
    "policy.schema.greater_than",
    "policy.schema.less_equal",
    "policy.schema.less_than",
    "policy.schema.literal",
    "policy.schema.too_short",
    "policy.schema.no_floats",
    "policy.schema.not_a_date",
    "policy.schema.not_finite",
    "policy.schema.parameter_kind",
    "policy.schema.unknown_column_suggested",
    "policy.schema.unknown_column",
    "policy.schema.column_no_floats",
    "policy.schema.column_no_time",
    "policy.schema.column_not_a_date",
    "policy.schema.no_amount",
    "policy.schema.empty",
    "policy.schema.unknown_language",
    "policy.schema.zh_required",
    "policy.schema.en_text",
    "policy.schema.window",
    "policy.schema.clause_labels",
)
"""The schema problems worded in both languages, by code: pydantic's words and this module's
validators', read back from the message (`subsidy.errors.read_back`); a more general one last."""


# --- identity --------------------------------------------------------------------------------


def canonical_json(document: PolicyDocument) -> str:
    """One text per content: sorted keys, no spaces, ISO dates, and numbers as exact JSON number
    literals in normalised decimal notation (`0.5`, `3000000`), written from the Decimal's digits,
    never through float. Numbers stay numbers so a stored version loads back to an equal document
    (`load_document(canonical_json(doc), "v.json") == doc`). A document without a summary is
    written without the key, as before summaries existed: its hash is the one stored; so is one
    without clause labels."""
    data = document.model_dump(mode="python")
    for optional in ("summary", "clauses"):
        if data[optional] is None:
            del data[optional]
    return _json(data)


def _json(value: object) -> str:
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(f"{_json(str(k))}:{_json(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_json(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dt.date):
        return json.dumps(value.isoformat())
    if value is None or isinstance(value, str | bool):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot write {type(value).__name__} to canonical JSON")


def content_hash(document: PolicyDocument) -> str:
    """The sha256 of the canonical JSON: equal content, equal hash, whatever the formatting."""
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()
