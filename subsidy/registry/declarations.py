"""A registry declaration: the YAML document that names the sources departments supply.

```yaml
sources:
  - name: tax                                  # a slug: [a-z][a-z0-9-]*, at most 64 characters
    department: Hangzhou Municipal Tax Service
    key: uscc                                  # uscc: one row per firm; person_id: per employee
    description: Corporate income tax filings  # optional
    columns:
      rd_expense:                              # an identifier rules read by name
        type: money                            # text, integer, money, decimal, date, bool
        nullable: true                         # required: may the source's file leave it empty?
        label: {zh: 研发费用, en: R&D expense}  # both languages, shown to officers and firms
        description: last fiscal year, yuan    # optional
        # scale: 4          (decimal only: digits after the point, default 6, at most 18)
        # max_length: 200   (text only: characters a cell may have, default 200)
```

`parse` reads the whole document and reports every problem at once (`DeclarationError`, in
`subsidy.registry.errors` with the codes of its problems), each
placed by the document, its line and the field's path (`sources[1].columns.months.type`). A
declaration that parses is a `Catalog`; whether it may replace the one in force (no column a
published policy reads removed or retyped) is `subsidy.declare`'s question, not this module's.

`nullable` must be said: it is the contract of the department's file (may a cell be empty?),
and a silent default would let a file with gaps through, or refuse one, without anyone having
decided it. Whatever it says, a firm or person a source has no row for reads null.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

import yaml
from rule_engine.parser import Parser

from subsidy.registry.catalog import (
    DECLARABLE_KINDS,
    RESERVED_NAMES,
    Catalog,
    Source,
    SourceKey,
)
from subsidy.registry.errors import DeclarationError, DeclarationProblem
from subsidy.registry.schema import (
    DECIMAL_SCALE,
    EMPLOYEES,
    ENTERPRISES,
    MAX_DECIMAL_SCALE,
    Column,
    Kind,
)

SOURCE_NAME = re.compile(r"[a-z][a-z0-9-]*")
COLUMN_NAME = re.compile(r"[a-z][a-z0-9_]*")
MAX_NAME = 64
MAX_DEPARTMENT = 200
MAX_LABEL = 100
MAX_DESCRIPTION = 2_000
MAX_COLUMNS = 1_000
"""Declared columns in all sources together: Hangzhou joined 68 units' data, a few each."""
MAX_DOCUMENT_CHARS = 256 * 1024
MAX_NESTING = 10
"""Mappings and lists inside each other: a declaration needs 6 (document, sources, a source, its
columns, a column, its label)."""
TEXT_LENGTH = 200
"""A declared text column's `max_length` unless it says otherwise (a name, a code, a title)."""
MAX_TEXT_LENGTH = 4_000

KEYWORDS = frozenset(Parser.reserved_words)
"""rule-engine's words (`and`, `in`, `null`, ...): a column so named could never be read."""
BUILTIN_NAMES: dict[str, str] = {
    **{c.name: EMPLOYEES.name for c in EMPLOYEES.columns},
    **{c.name: ENTERPRISES.name for c in ENTERPRISES.columns},
    "employees": ENTERPRISES.name,
}
"""Names rules already read, by registry (`employees` is the firm's list of its employees)."""

KIND_NAMES = tuple(k.value for k in DECLARABLE_KINDS)
KEY_NAMES = tuple(k.value for k in SourceKey)
TOP_FIELDS = ("sources",)
SOURCE_FIELDS = ("name", "department", "key", "description", "columns")
COLUMN_FIELDS = ("type", "nullable", "label", "description", "scale", "max_length")
LABEL_FIELDS = ("zh", "en")


def parse(text: str, document: str, *, version: int) -> Catalog:
    """The catalog `text` declares as `version`, or DeclarationError with every problem."""
    reader = _Reader(document)
    if len(text) > MAX_DOCUMENT_CHARS:
        reader.problem(
            "", None, "declaration.too_large", limit=MAX_DOCUMENT_CHARS, length=len(text)
        )
        raise DeclarationError(document, reader.problems)
    root = reader.compose(text)
    sources = reader.document(root) if root is not None else ()
    if reader.problems:
        in_order = sorted(reader.problems, key=lambda p: p.line or 0)  # stable: then as found
        raise DeclarationError(document, in_order)
    return Catalog(version, sources)


# --- reading the YAML nodes, every problem kept -----------------------------------------------


class _Reader:
    def __init__(self, document: str) -> None:
        self.name = document
        self.problems: list[DeclarationProblem] = []
        self._loader: yaml.SafeLoader | None = None
        self._columns: dict[str, str] = {}  # declared column name -> its source
        self._sources: dict[str, int] = {}  # source name -> its index
        self._hinted: set[str] = set()  # fields a misspelt one was taken for

    def problem(self, path: str, node: yaml.Node | None, code: str, **fields: object) -> None:
        line = node.start_mark.line + 1 if node is not None else None
        self.problems.append(DeclarationProblem(self.name, path, line, code, fields))

    def compose(self, text: str) -> yaml.Node | None:
        """The document's node tree (None with a problem when YAML cannot read it, or when it
        nests deeper or refers (`*alias`) where no declaration does: composing recurses, and
        the reader walks every alias as often as it is named)."""
        try:
            if not self._measured(text):
                return None
            loader = yaml.SafeLoader(text)
            root = loader.get_single_node()
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            detail = getattr(exc, "problem", None) or str(exc).partition("\n")[0]
            self.problems.append(
                DeclarationProblem(self.name, "", line, "declaration.yaml", {"detail": detail})
            )
            return None
        self._loader = loader
        if root is None:
            self.problem("", None, "declaration.required", name="sources")
        return root

    def _measured(self, text: str) -> bool:
        """Whether YAML's events (its parser does not recurse) stay within what a declaration
        needs; the first place that does not is a problem."""
        depth = 0
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            line = event.start_mark.line + 1 if event.start_mark is not None else None
            if isinstance(event, yaml.AliasEvent):
                self.problems.append(
                    DeclarationProblem(self.name, "", line, "declaration.alias", {})
                )
                return False
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_NESTING:
                    fields: dict[str, object] = {"limit": MAX_NESTING}
                    self.problems.append(
                        DeclarationProblem(self.name, "", line, "declaration.too_deep", fields)
                    )
                    return False
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        return True

    def value(self, node: yaml.Node) -> Any:
        assert self._loader is not None
        try:
            return self._loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            return _Unreadable(str(exc).splitlines()[0])

    # --- shapes ---

    def mapping(
        self, path: str, node: yaml.Node, allowed: tuple[str, ...] | None
    ) -> dict[str, yaml.Node] | None:
        """The mapping's fields by name; unknown ones refused with the nearest known name."""
        if not isinstance(node, yaml.MappingNode):
            self.problem(path, node, "declaration.not_mapping")
            return None
        found: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(path, key_node, "declaration.not_text")
                continue
            key = str(key_node.value)  # as written: a column `no` or `null` is not a bool or None
            where = _join(path, _shown(key))
            if allowed is not None and key not in allowed:
                self._unknown(path, key_node, key, allowed)
                continue
            if key in found:
                self.problem(where, key_node, "declaration.repeated_field", name=key)
                continue
            found[key] = value_node
        return found

    def _unknown(self, parent: str, node: yaml.Node, key: str, allowed: tuple[str, ...]) -> None:
        where, shown = _join(parent, _shown(key)), _shown(key)
        close = difflib.get_close_matches(key[:MAX_NAME], allowed, n=1)
        if close:
            self.problem(where, node, "declaration.unknown_field_hint", name=shown, hint=close[0])
            self._hinted.add(_join(parent, close[0]))  # its "missing" would say it again
        else:
            self.problem(
                where, node, "declaration.unknown_field", name=shown, allowed=_list(allowed)
            )

    def required(
        self, path: str, node: yaml.Node, found: dict[str, yaml.Node], name: str
    ) -> yaml.Node | None:
        if name not in found:
            where = _join(path, name)
            if where not in self._hinted:
                self.problem(where, node, "declaration.required", name=name)
            return None
        return found[name]

    def text(self, path: str, node: yaml.Node, limit: int, *, empty: bool = False) -> str | None:
        value = self.value(node)
        if not isinstance(node, yaml.ScalarNode) or not isinstance(value, str):
            self.problem(path, node, "declaration.not_text")
            return None
        value = value.strip()
        if not value and not empty:
            self.problem(path, node, "declaration.empty")
            return None
        if len(value) > limit:
            self.problem(path, node, "declaration.too_long", length=len(value), limit=limit)
            return None
        return value

    def optional_text(self, path: str, found: dict[str, yaml.Node], limit: int) -> str | None:
        node = found.get("description")
        if node is None or self.value(node) is None:
            return None
        return self.text(_join(path, "description"), node, limit) or None

    # --- the document ---

    def document(self, root: yaml.Node) -> tuple[Source, ...]:
        top = self.mapping("", root, TOP_FIELDS)
        if top is None:
            return ()
        listed = self.required("", root, top, "sources")
        if listed is None:
            return ()
        if not isinstance(listed, yaml.SequenceNode):
            self.problem("sources", listed, "declaration.not_list")
            return ()
        sources = [self.source(f"sources[{i}]", node, i) for i, node in enumerate(listed.value)]
        if len(self._columns) > MAX_COLUMNS:
            self.problem(
                "sources",
                listed,
                "declaration.too_many_columns",
                count=len(self._columns),
                limit=MAX_COLUMNS,
            )
        return tuple(s for s in sources if s is not None)

    def source(self, path: str, node: yaml.Node, index: int) -> Source | None:
        found = self.mapping(path, node, SOURCE_FIELDS)
        if found is None:
            return None
        name = self.source_name(path, node, found, index)
        department = self.department(path, node, found)
        key = self.key(path, node, found)
        description = self.optional_text(path, found, MAX_DESCRIPTION)
        columns = self.columns(path, node, found, name or f"sources[{index}]")
        if name is None or department is None or key is None or columns is None:
            return None
        return Source(name, department, key, columns, description)

    def source_name(
        self, path: str, node: yaml.Node, found: dict[str, yaml.Node], index: int
    ) -> str | None:
        value_node = self.required(path, node, found, "name")
        if value_node is None:
            return None
        where = _join(path, "name")
        name = self.text(where, value_node, MAX_NAME * 4)
        if name is None:
            return None
        if not SOURCE_NAME.fullmatch(name) or len(name) > MAX_NAME:
            self.problem(
                where, value_node, "declaration.bad_source_name", name=_shown(name), limit=MAX_NAME
            )
            return None
        if name in RESERVED_NAMES:
            self.problem(where, value_node, "declaration.reserved_source", name=name)
            return None
        if name in self._sources:
            first = f"sources[{self._sources[name]}]"
            self.problem(where, value_node, "declaration.repeated_source", name=name, first=first)
            return None
        self._sources[name] = index
        return name

    def department(self, path: str, node: yaml.Node, found: dict[str, yaml.Node]) -> str | None:
        value_node = self.required(path, node, found, "department")
        if value_node is None:
            return None
        return self.text(_join(path, "department"), value_node, MAX_DEPARTMENT)

    def key(self, path: str, node: yaml.Node, found: dict[str, yaml.Node]) -> SourceKey | None:
        value_node = self.required(path, node, found, "key")
        if value_node is None:
            return None
        value = self.value(value_node)
        if value not in KEY_NAMES:
            where = _join(path, "key")
            self.problem(where, value_node, "declaration.bad_key", value=_shown(value))
            return None
        return SourceKey(value)

    def columns(
        self, path: str, node: yaml.Node, found: dict[str, yaml.Node], source: str
    ) -> tuple[Column, ...] | None:
        value_node = self.required(path, node, found, "columns")
        if value_node is None:
            return None
        where = _join(path, "columns")
        named = self.mapping(where, value_node, None)
        if named is None:
            return None
        if not named:
            self.problem(where, value_node, "declaration.no_columns")
            return None
        columns = [self.column(where, n, v, source) for n, v in named.items()]
        read = tuple(c for c in columns if c is not None)
        return read if len(read) == len(columns) else None

    def column(self, path: str, name: str, node: yaml.Node, source: str) -> Column | None:
        where = _join(path, _shown(name))
        name_ok = self.column_name(where, node, name, source)
        found = self.mapping(where, node, COLUMN_FIELDS)
        if found is None:
            return None
        kind = self.kind(where, node, found)
        nullable = self.nullable(where, node, found)
        labels = self.labels(where, node, found)
        description = self.optional_text(where, found, MAX_DESCRIPTION)
        scale = self.bound(where, found, "scale", kind, Kind.DECIMAL, 0, MAX_DECIMAL_SCALE)
        length = self.bound(where, found, "max_length", kind, Kind.TEXT, 1, MAX_TEXT_LENGTH)
        if not name_ok or kind is None or nullable is None or labels is None:
            return None
        return Column(
            name,
            kind,
            nullable=nullable,
            scale=(DECIMAL_SCALE if scale is None else scale) if kind is Kind.DECIMAL else None,
            max_length=(TEXT_LENGTH if length is None else length) if kind is Kind.TEXT else None,
            source=source,
            label_zh=labels[0],
            label_en=labels[1],
            description=description,
        )

    def column_name(self, path: str, node: yaml.Node, name: str, source: str) -> bool:
        code: str | None = None
        fields: dict[str, object] = {"name": _shown(name)}
        if not COLUMN_NAME.fullmatch(name) or len(name) > MAX_NAME:
            code, fields["limit"] = "declaration.bad_column_name", MAX_NAME
        elif name in KEYWORDS:
            code = "declaration.keyword"
        elif name in BUILTIN_NAMES:
            code, fields["registry"] = "declaration.builtin_column", BUILTIN_NAMES[name]
        elif name in self._columns:
            code, fields["other"] = "declaration.repeated_column", self._columns[name]
        if code is not None:
            self.problem(path, node, code, **fields)
            return False
        self._columns[name] = source
        return True

    def kind(self, path: str, node: yaml.Node, found: dict[str, yaml.Node]) -> Kind | None:
        value_node = self.required(path, node, found, "type")
        if value_node is None:
            return None
        value = self.value(value_node)
        if value in KIND_NAMES:
            return Kind(value)
        where, kinds = _join(path, "type"), _list(KIND_NAMES)
        close = difflib.get_close_matches(str(value), KIND_NAMES, n=1)
        if close:
            self.problem(
                where,
                value_node,
                "declaration.bad_type_hint",
                value=_shown(value),
                hint=close[0],
                kinds=kinds,
            )
        else:
            self.problem(
                where, value_node, "declaration.bad_type", value=_shown(value), kinds=kinds
            )
        return None

    def nullable(self, path: str, node: yaml.Node, found: dict[str, yaml.Node]) -> bool | None:
        value_node = self.required(path, node, found, "nullable")
        if value_node is None:
            return None
        value = self.value(value_node)
        if not isinstance(value, bool):
            self.problem(_join(path, "nullable"), value_node, "declaration.not_bool")
            return None
        return value

    def labels(
        self, path: str, node: yaml.Node, found: dict[str, yaml.Node]
    ) -> tuple[str, str] | None:
        value_node = self.required(path, node, found, "label")
        if value_node is None:
            return None
        where = _join(path, "label")
        languages = self.mapping(where, value_node, LABEL_FIELDS)
        if languages is None:
            return None
        zh, en = (self._label(where, value_node, languages, lang) for lang in LABEL_FIELDS)
        return (zh, en) if zh is not None and en is not None else None

    def _label(
        self, path: str, node: yaml.Node, languages: dict[str, yaml.Node], language: str
    ) -> str | None:
        value_node = self.required(path, node, languages, language)
        if value_node is None:
            return None
        return self.text(_join(path, language), value_node, MAX_LABEL)

    def bound(
        self,
        path: str,
        found: dict[str, yaml.Node],
        name: str,
        kind: Kind | None,
        applies_to: Kind,
        low: int,
        high: int,
    ) -> int | None:
        """`scale` / `max_length`: a whole number in [low, high], only for its kind."""
        node = found.get(name)
        if node is None:
            return None
        where = _join(path, name)
        if kind is not None and kind is not applies_to:
            self.problem(where, node, "declaration.not_for_kind", name=name, kind=applies_to.value)
            return None
        value = self.value(node)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(where, node, "declaration.bad_number", low=low, high=high)
            return None
        return value


@dataclass(frozen=True)
class _Unreadable:
    """A scalar YAML could not construct (a malformed timestamp): never a valid value."""

    detail: str

    def __str__(self) -> str:
        return self.detail


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _list(names: tuple[str, ...]) -> str:
    return ", ".join(names)


def _shown(value: object) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"
