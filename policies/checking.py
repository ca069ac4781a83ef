"""Type-checking a policy's rules against the registry schema before anything runs them.

Both rules are compiled with the typed context of `policies.language`, so a misspelt column, an
unknown employee attribute or a type mismatch is refused here, in the officer's editor, and not
on the 100,000th firm of a run. Every problem is collected; each is placed at the line and column
of the file when the document's text is known.

Result types: the eligibility must be BOOLEAN and the amount FLOAT (rule-engine's number, a
Decimal). rule-engine answers UNDEFINED when it cannot tell statically (a ternary whose branches
differ, e.g. `x ? 1 : null`); such a rule is accepted, because `evaluate_firm` still refuses a
non-boolean eligibility or a non-number amount on each firm, and the policy's tests show it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rule_engine
import yaml
from pydantic import ValidationError
from rule_engine import DataType
from rule_engine.errors import (
    AttributeResolutionError,
    ObjectAttributeError,
    SymbolResolutionError,
)

from policies import guards, limits
from policies.document import (
    FieldPath,
    Parameter,
    PolicyDocument,
    SourceMap,
    _parameter_name_problem,  # the schema's own rule for names
    field_name,
    load_document,
    load_path,
    parse_text,
    source_map,
    test_row_problems,
)
from policies.errors import Issue, PolicyDocumentError
from policies.language import ParameterValue, context, firm_types
from subsidy.errors import Term
from subsidy.registry.catalog import BUILTIN, Catalog
from subsidy.registry.schema import Column

CLAUSES = ("eligibility", "amount")
_EXPECTED = {"eligibility": DataType.BOOLEAN, "amount": DataType.FLOAT}


@dataclass(frozen=True)
class CheckedPolicy:
    """A document whose rules compile against the catalog; the rules use `$today` = valid_from."""

    document: PolicyDocument
    eligibility: rule_engine.Rule
    amount: rule_engine.Rule
    parameters: dict[str, ParameterValue]
    catalog: Catalog = BUILTIN
    """The catalog it was checked under: its tests and the matcher read the same columns."""


def parameters_of(document: PolicyDocument) -> dict[str, ParameterValue]:
    return {name: p.value for name, p in document.parameters.items()}


def check(
    document: PolicyDocument,
    source_text: str | None = None,
    source: str | None = None,
    *,
    catalog: Catalog = BUILTIN,
) -> CheckedPolicy:
    """Compile both rules against `catalog` (the declaration in force) or raise
    PolicyDocumentError with every problem found, the test firms' columns included.

    Positions come from `source_text` when given, else from the text the document was loaded
    from (`load_document`/`load_path` remember it); a document built in code has none.
    """
    where = _where(document, source_text, source)
    parameters = parameters_of(document)
    ctx = context(parameters, as_of=document.valid_from, catalog=catalog)
    rules: dict[str, rule_engine.Rule] = {}
    issues: list[Issue] = []
    for clause in CLAUSES:
        text = getattr(document, clause)
        rule, found = _check_clause(clause, text, parameters, ctx, where, catalog=catalog)
        issues.extend(found)
        if rule is not None:
            rules[clause] = rule
    issues.extend(_catalog_issues(document, catalog, where))
    if issues:
        raise PolicyDocumentError(where.source, issues)
    return CheckedPolicy(document, rules["eligibility"], rules["amount"], parameters, catalog)


def _catalog_issues(document: PolicyDocument, catalog: Catalog, where: SourceMap) -> list[Issue]:
    """What only the catalog can tell: a parameter hiding a declared column, a test firm (or
    employee) naming a column the catalog does not hold or giving a declared one a wrong cell."""
    found: list[tuple[FieldPath, str]] = []
    declared = {c.name for c in catalog.declared_columns}
    for name in document.parameters:
        if name in declared:
            clash = f"parameter {name!r} clashes with the declared column of that name"
            found.append((("parameters", name), clash))
    for i, case in enumerate(document.tests):
        rows: list[tuple[FieldPath, dict[str, Any], tuple[Column, ...]]] = [
            (("tests", i, "enterprise"), case.enterprise, catalog.firm_columns)
        ]
        rows += [
            (("tests", i, "employees", j), e, catalog.employee_columns)
            for j, e in enumerate(case.employees)
        ]
        for path, row, columns in rows:
            problems = test_row_problems(row, columns)
            if problems:
                found.append((path, "; ".join(problems)))
    return [
        Issue(where.source, field_name(path), *where.position(path), message)
        for path, message in found
    ]


def _check_clause(
    clause: str,
    text: str,
    parameters: dict[str, ParameterValue],
    ctx: rule_engine.Context,
    where: SourceMap,
    unreadable: frozenset[str] = frozenset(),
    *,
    catalog: Catalog = BUILTIN,
) -> tuple[rule_engine.Rule | None, list[Issue]]:
    """One rule compiled against the registry's types, or every problem found in it.

    A symbol in `unreadable` (a parameter the schema refused) is not reported unknown: the
    schema's issue already names it."""
    tokens = guards.tokens(text)
    bounds = guards.before_parsing(text, tokens)
    if bounds:  # refused before the parser spends time and memory on it
        return None, [_refused(where, clause, text, f) for f in bounds]
    try:
        rule = rule_engine.Rule(text, context=ctx)
    except SymbolResolutionError as exc:
        if exc.symbol_name in unreadable:
            return None, []
        return None, [_issue(exc, clause, text, parameters, where, catalog)]
    except rule_engine.EngineError as exc:
        return None, [_issue(exc, clause, text, parameters, where, catalog)]
    except RecursionError:  # rule-engine's parser recurses once per level of nesting
        return None, [_placed(where, clause, text, None, "policy.too_deep_to_parse", _NESTING)]
    found = guards.after_parsing(rule, tokens, parameters)
    issues = [_refused(where, clause, text, f) for f in found]
    issues.extend(_result_type_issues(rule, clause, where))
    return rule, issues


def load_checked(text: str, source: str, *, catalog: Catalog = BUILTIN) -> PolicyDocument:
    """`load_document`, and when the schema refuses the text, the rules it can still read are
    checked as well: an officer sees a wrong field type and an unknown symbol in one go, each
    placed at its line and column, instead of fixing one to discover the other."""
    try:
        return load_document(text, source)
    except PolicyDocumentError as exc:
        raise _with_rule_issues(exc, text, catalog) from None


def load_path_checked(path: str | Path, *, catalog: Catalog = BUILTIN) -> PolicyDocument:
    """`load_path` with the rule problems of a document the schema refuses (`load_checked`)."""
    try:
        return load_path(path)
    except PolicyDocumentError as exc:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):  # load_path said so already
            raise exc from None
        raise _with_rule_issues(exc, text, catalog) from None


def _with_rule_issues(
    refused: PolicyDocumentError, text: str, catalog: Catalog
) -> PolicyDocumentError:
    rules = readable_rule_issues(text, refused.source, catalog=catalog)
    return PolicyDocumentError(refused.source, [*refused.issues, *rules])


def readable_rule_issues(text: str, source: str, *, catalog: Catalog = BUILTIN) -> list[Issue]:
    """The problems of the rules (`eligibility`, `amount`) of a text whatever its schema
    problems: each rule that is text, with the parameters that are valid; none when the text
    does not even parse (its syntax error says all)."""
    try:
        data = parse_text(text, source)
    except PolicyDocumentError:
        return []
    if not isinstance(data, dict):
        return []
    parameters, unreadable = _readable_parameters(data.get("parameters"))
    valid_from = data.get("valid_from")
    as_of = valid_from if isinstance(valid_from, dt.date) else None
    ctx = context(parameters, as_of=as_of, catalog=catalog)
    where = SourceMap.of(text, source)
    issues = []
    for clause in CLAUSES:
        rule_text = data.get(clause)
        if isinstance(rule_text, str) and rule_text.strip():
            _, found = _check_clause(
                clause, rule_text, parameters, ctx, where, unreadable, catalog=catalog
            )
            issues.extend(found)
    return issues


def _readable_parameters(raw: Any) -> tuple[dict[str, ParameterValue], frozenset[str]]:
    """The parameters the schema accepts, and the names of those it refuses."""
    if not isinstance(raw, dict):
        return {}, frozenset()
    values: dict[str, ParameterValue] = {}
    refused = set()
    for name, entry in raw.items():
        if not isinstance(name, str) or _parameter_name_problem(name) is not None:
            refused.add(str(name))
            continue
        try:
            values[name] = Parameter.model_validate(entry).value
        except ValidationError:
            refused.add(name)
    return values, frozenset(refused)


def load_and_check(text: str, source: str, *, catalog: Catalog = BUILTIN) -> CheckedPolicy:
    """`load_checked` then `check`, the path of `qinqing policy validate`."""
    return check(load_checked(text, source, catalog=catalog), text, source, catalog=catalog)


def rules_for(
    document: PolicyDocument, as_of: dt.date, catalog: Catalog = BUILTIN
) -> tuple[rule_engine.Rule, rule_engine.Rule]:
    """The eligibility and amount rules again with `$today` = `as_of` (for tests and runs).

    The document must have passed `check` under `catalog`: errors here are rule-engine's own.
    """
    ctx = context(parameters_of(document), as_of=as_of, catalog=catalog)
    return (
        rule_engine.Rule(document.eligibility, context=ctx),
        rule_engine.Rule(document.amount, context=ctx),
    )


def _where(document: PolicyDocument, text: str | None, source: str | None) -> SourceMap:
    if text is not None:
        return SourceMap.of(text, source or "<policy>")
    remembered = source_map(document)
    if remembered is not None:
        return remembered
    return SourceMap(source or "<policy>", "", None)


# --- one issue per failed compilation ---------------------------------------------------------


def _issue(
    exc: rule_engine.EngineError,
    clause: str,
    text: str,
    parameters: dict[str, ParameterValue],
    where: SourceMap,
    catalog: Catalog,
) -> Issue:
    if isinstance(exc, rule_engine.RuleSyntaxError):
        offset = exc.token.lexpos if exc.token is not None else len(text.rstrip())
        return _placed(where, clause, text, offset, *_syntax_problem(exc))
    if isinstance(exc, SymbolResolutionError):
        names = [*firm_types(catalog), *parameters]
        problem = _hinted(
            "policy.unknown_symbol", exc.symbol_name, _hint(exc, exc.symbol_name, names)
        )
        offset = _find_word(text, exc.symbol_name, attribute=False)
        return _placed(where, clause, text, offset, *problem)
    if isinstance(exc, AttributeResolutionError):
        name = exc.attribute_name
        if isinstance(exc, ObjectAttributeError):  # the only typed objects are employees
            problem = _hinted(
                "policy.no_employee_attribute", name, _hint(None, name, _employee_names(catalog))
            )
        else:
            problem = ("policy.unknown_attribute", {"name": name})
        offset = _find_word(text, name, attribute=True)
        return _placed(where, clause, text, offset, *problem)
    line, column = where.position((clause,))
    if type(exc) is rule_engine.EvaluationError:
        return Issue.coded(where.source, clause, line, column, "policy.type_error", why=exc.message)
    kind = type(exc).__name__
    return Issue.coded(
        where.source, clause, line, column, "policy.rule_error", kind=kind, why=exc.message
    )


def _employee_names(catalog: Catalog) -> list[str]:
    return [c.name for c in catalog.employee_columns]


def _syntax_problem(exc: rule_engine.RuleSyntaxError) -> tuple[str, dict[str, object]]:
    """rule-engine's message without its own `at: line n:m`, whose line number is unreliable."""
    message = re.sub(r"\s*at: (line \d+:\d+|EOF)$", "", str(exc.message))
    if exc.token is None:
        return "policy.syntax_ends_early", {"why": message}
    if exc.token.type == "error":  # the lexer's token is the rest of the text; the message has it
        return "policy.syntax", {"why": message}
    return "policy.syntax_at", {"why": message, "token": str(exc.token.value)}


def _hint(exc: rule_engine.EngineError | None, name: str, candidates: list[str]) -> str | None:
    """rule-engine's suggestion for symbols; difflib otherwise (rule-engine's attribute guesses,
    such as 'insured' for 'salary', mislead more than they help)."""
    suggestion = getattr(exc, "suggestion", None)
    if not suggestion:
        close = difflib.get_close_matches(name, candidates, n=1)
        suggestion = close[0] if close else None
    return suggestion or None


def _hinted(code: str, name: str, suggestion: str | None) -> tuple[str, dict[str, object]]:
    """A code for a name not found, with `_suggested` when a close name exists."""
    if suggestion is None:
        return code, {"name": name}
    return f"{code}_suggested", {"name": name, "suggestion": suggestion}


def _find_word(text: str, name: str, *, attribute: bool) -> int | None:
    """The offset of `name` as a whole word (after a dot for an attribute), first occurrence."""
    pattern = rf"\.\s*({re.escape(name)})\b" if attribute else rf"(?<![\w$.])({re.escape(name)})\b"
    found = re.search(pattern, text)
    return found.start(1) if found else None


def _result_type_issues(rule: rule_engine.Rule, clause: str, where: SourceMap) -> list[Issue]:
    result: Any = rule.statement.expression.result_type
    expected = _EXPECTED[clause]
    if result == expected or result == DataType.UNDEFINED:
        return []
    line, column = where.position((clause,))
    found = _type_name(result)
    return [Issue.coded(where.source, clause, line, column, f"policy.{clause}_type", found=found)]


def _type_name(data_type: Any) -> Term:
    """A rule-engine type as its words (`error_type.STRING`: text / 文本)."""
    name = str(getattr(data_type, "name", data_type))
    return Term(f"error_type.{name}" if name in _TYPE_NAMES else "error_type.other")


_TYPE_NAMES = (
    "FLOAT",
    "STRING",
    "BOOLEAN",
    "NULL",
    "DATETIME",
    "TIMEDELTA",
    "ARRAY",
    "MAPPING",
    "SET",
)


# --- from a rule offset to the file's line and column ---------------------------------------


def _placed(
    where: SourceMap,
    clause: str,
    text: str,
    offset: int | None,
    code: str,
    fields: dict[str, object],
) -> Issue:
    node = where.node((clause,))
    if node is None or offset is None:
        line, column = where.position((clause,))
        if node is None and offset is not None:
            line, column = _rule_line_column(text, offset)
        return Issue.coded(where.source, clause, line, column, code, **fields)
    index = _source_index(where.text, node, text, offset)
    return Issue.coded(where.source, clause, *where.line_column(index), code, **fields)


_NESTING: dict[str, object] = {"limit": limits.MAX_NESTING}


def _refused(where: SourceMap, clause: str, text: str, finding: guards.Finding) -> Issue:
    """A guard's finding: what a rule may not do, its own words kept (`policy.rule_refused`)."""
    return _placed(where, clause, text, finding.offset, finding.code, finding.fields)


def _rule_line_column(text: str, offset: int) -> tuple[int, int]:
    """Line and column inside the rule itself, for a document with no text."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _source_index(source: str, node: yaml.Node, rule: str, offset: int) -> int:
    """The file offset of the rule's character `offset`, walking the scalar's raw text.

    The scalar's text in the file differs from the rule only by quoting, escapes, line folding
    and block indentation: walk both together, matching equal characters and skipping what the
    file adds. This places plain, quoted, folded and block (`|`, `>`) scalars alike.
    """
    start, end = node.start_mark.index, node.end_mark.index
    style = getattr(node, "style", None)
    if style in ("|", ">"):
        start = source.index("\n", start) + 1 if "\n" in source[start:end] else end
    elif style in ("'", '"'):
        start += 1
    i, j = 0, start
    while i < offset and j < end:
        if rule[i] == source[j]:
            i, j = i + 1, j + 1
        elif rule[i].isspace() and not source[j].isspace():
            i += 1
        else:
            j += 1
    while j < end and source[j].isspace() and i < len(rule) and not rule[i].isspace():
        j += 1
    return j
