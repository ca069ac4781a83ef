"""What data a rule may read: the built-in registries and the sources departments declare.

The enterprise and employee registries are fixed (`schema.ENTERPRISES`, `schema.EMPLOYEES`). A
registry declaration (`qinqing registry declare FILE.yaml`, `subsidy.registry.declarations`) adds
sources: the tax bureau's R&D expense per firm, the social-insurance bureau's months insured per
person. A source is keyed by `uscc` (one row per firm: its columns are the firm's) or by
`person_id` (one row per employee: its columns are each employee's, `e.months_insured_2019`).

A `Catalog` is one declaration version seen whole: every column a rule may name, with its kind
and, for a declared one, its source, department and labels. Everything that reads, checks or
evaluates rules takes the catalog of the declaration in force (`current(session)`); `BUILTIN` is
the catalog before anything is declared. A firm or person a source has no row for reads null for
every column of that source, whatever its `nullable` says (that governs the source's file).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from subsidy.registry.models import RegistryDeclaration
from subsidy.registry.schema import EMPLOYEES, ENTERPRISES, Column, Kind, Table


class SourceKey(StrEnum):
    USCC = "uscc"
    """One row per firm: the columns are the firm's."""
    PERSON_ID = "person_id"
    """One row per employee: the columns are each employee's."""


KEY_COLUMNS = {
    SourceKey.USCC: ENTERPRISES.column("uscc"),
    SourceKey.PERSON_ID: EMPLOYEES.column("person_id"),
}
"""A source's key is checked as the registry's own key column is."""

DECLARABLE_KINDS = (Kind.TEXT, Kind.INTEGER, Kind.MONEY, Kind.DECIMAL, Kind.DATE, Kind.BOOL)
"""The `type`s a declared column may have (the declaration's words are the kinds' values)."""

RESERVED_NAMES = frozenset({ENTERPRISES.name, EMPLOYEES.name})
"""Source names that would be mistaken for the built-in registries (their snapshots' names)."""


@dataclass(frozen=True)
class Source:
    name: str
    department: str
    key: SourceKey
    columns: tuple[Column, ...]
    """The declared columns, each with `source` = this source's name (the key not among them)."""
    description: str | None = None

    @property
    def table(self) -> Table:
        """The source's file as the importer checks it: the key, then the declared columns."""
        return Table(self.name, self.key.value, (KEY_COLUMNS[self.key], *self.columns))

    @property
    def snapshot_name(self) -> str:
        """The name its imports' `RegistrySnapshot`s carry (`registry_name`)."""
        return self.name


@dataclass(frozen=True)
class Catalog:
    version: int
    """The declaration version this catalog is (0: nothing declared)."""
    sources: tuple[Source, ...] = ()

    @property
    def firm_columns(self) -> tuple[Column, ...]:
        """Every symbol a rule reads on the firm: the enterprise registry, then the columns of
        the `uscc`-keyed sources in declaration order."""
        declared = (c for s in self.firm_sources() for c in s.columns)
        return (*ENTERPRISES.columns, *declared)

    @property
    def employee_columns(self) -> tuple[Column, ...]:
        """Every attribute of an employee record (`e.<name>`): the employee registry but `uscc`,
        then the columns of the `person_id`-keyed sources in declaration order."""
        own = (c for c in EMPLOYEES.columns if c.name != "uscc")
        declared = (c for s in self.person_sources() for c in s.columns)
        return (*own, *declared)

    @property
    def declared_columns(self) -> tuple[Column, ...]:
        return tuple(c for s in self.sources for c in s.columns)

    def source(self, name: str) -> Source | None:
        return next((s for s in self.sources if s.name == name), None)

    def column(self, name: str) -> Column | None:
        """A column by name, firm or employee (names are unique across the whole catalog)."""
        return next(
            (c for c in (*self.firm_columns, *self.employee_columns) if c.name == name), None
        )

    def firm_sources(self) -> tuple[Source, ...]:
        return tuple(s for s in self.sources if s.key is SourceKey.USCC)

    def person_sources(self) -> tuple[Source, ...]:
        return tuple(s for s in self.sources if s.key is SourceKey.PERSON_ID)


BUILTIN = Catalog(version=0)
"""The catalog before any declaration: the built-in registries only."""


def to_content(catalog: Catalog) -> dict[str, Any]:
    """The catalog's sources as the canonical JSON a declaration stores (`content`)."""
    return {
        "sources": [
            {
                "name": s.name,
                "department": s.department,
                "key": s.key.value,
                "description": s.description,
                "columns": [
                    {
                        "name": c.name,
                        "type": c.kind.value,
                        "nullable": c.nullable,
                        "scale": c.scale,
                        "max_length": c.max_length,
                        "label": {"zh": c.label_zh, "en": c.label_en},
                        "description": c.description,
                    }
                    for c in s.columns
                ],
            }
            for s in catalog.sources
        ]
    }


def canonical_json(content: dict[str, Any]) -> str:
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def from_content(version: int, content: dict[str, Any]) -> Catalog:
    """The catalog a declaration's stored `content` describes (`to_content` read back)."""
    sources = []
    for s in content["sources"]:
        columns = tuple(
            Column(
                c["name"],
                Kind(c["type"]),
                nullable=c["nullable"],
                scale=c.get("scale"),
                max_length=c.get("max_length"),
                source=s["name"],
                label_zh=c["label"]["zh"],
                label_en=c["label"]["en"],
                description=c.get("description"),
            )
            for c in s["columns"]
        )
        key = SourceKey(s["key"])
        sources.append(Source(s["name"], s["department"], key, columns, s.get("description")))
    return Catalog(version, tuple(sources))


@lru_cache(maxsize=16)
def _parsed(version: int, content: str) -> Catalog:
    return from_content(version, json.loads(content))


def current(session: Session) -> Catalog:
    """The catalog of the declaration in force (the highest version), BUILTIN before any.

    Parsed once per version and content (a restored database with another declaration under
    the same number is parsed anew: the content is part of the key)."""
    query = select(RegistryDeclaration).order_by(col(RegistryDeclaration.version).desc()).limit(1)
    found = session.execute(query).scalars().first()
    if found is None:
        return BUILTIN
    return _parsed(found.version, found.content)
