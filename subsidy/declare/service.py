"""Declare the registry's sources: validate everything, then store the next version, audited.

A declaration replaces the whole set of sources (it is the document as a whole, versioned like a
policy): a source it leaves out is retired. Declaring what is in force already is no new version.
A column a published policy reads may not be removed or change its type (kind, decimal scale, or
firm <-> employee key): the policy would stop checking, or mean something else for firms that
already qualify. The refusal names each column and policy, and the way out: close the policies,
or publish versions that no longer read the column, first. Flush only: the caller commits.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from policies.columns import columns_read_by_published
from subsidy import actors, i18n
from subsidy.audit import service as audit
from subsidy.db import utcnow
from subsidy.declare.errors import ConcurrentDeclaration
from subsidy.registry import declarations, demo_sources
from subsidy.registry.catalog import (
    BUILTIN,
    Catalog,
    canonical_json,
    from_content,
    to_content,
)
from subsidy.registry.errors import DeclarationError, DeclarationProblem
from subsidy.registry.models import RegistryDeclaration
from subsidy.registry.schema import EMPLOYEES, ENTERPRISES, Column

ACTION = "registry.declare"
"""The audit action of a new declaration version."""


@dataclass(frozen=True)
class Declared:
    declaration: RegistryDeclaration
    catalog: Catalog
    created: bool
    """False when the document declared exactly what was in force: no new version."""


def declare(session: Session, text: str, document: str, *, by: str) -> Declared:
    """Declare the sources `text` names (`document` is its name in messages) as `by`.

    Raises DeclarationError with every problem of the document, or with every column a published
    policy reads that it would remove or retype; ConcurrentDeclaration when another declaration
    took the version meanwhile. Nothing is written then."""
    latest = latest_declaration(session)
    previous = _catalog_of(latest)
    catalog = declarations.parse(text, document, version=previous.version + 1)
    content = canonical_json(to_content(catalog))
    if latest is not None and latest.content == content:
        return Declared(latest, previous, created=False)
    _refuse_taking_columns_in_use(session, document, previous, catalog)
    declaration = RegistryDeclaration(
        version=catalog.version,
        document=text,
        content=content,
        content_hash=hashlib.sha256(content.encode()).hexdigest(),
        declared_by=by,
        declared_at=utcnow(),
    )
    try:
        with session.begin_nested():  # a race lost on the unique version leaves the rest intact
            session.add(declaration)
    except IntegrityError as exc:
        raise ConcurrentDeclaration(version=catalog.version) from exc
    audit.record(
        session,
        actor=by,
        action=ACTION,
        subject=f"registry-declaration:{catalog.version}",
        before=_audited(latest, previous),
        after=_audited(declaration, catalog),
    )
    return Declared(declaration, catalog, created=True)


def declare_demo(session: Session) -> Declared:
    """The demo's two sources (`subsidy/registry/demo_sources.yaml`), declared by the demo."""
    text = demo_sources.DECLARATION.read_text(encoding="utf-8")
    return declare(session, text, demo_sources.DECLARATION.name, by=actors.DEMO)


def latest_declaration(session: Session) -> RegistryDeclaration | None:
    query = select(RegistryDeclaration).order_by(col(RegistryDeclaration.version).desc())
    return session.execute(query.limit(1)).scalars().first()


def versions(
    session: Session, *, offset: int = 0, limit: int | None = None
) -> list[tuple[RegistryDeclaration, Catalog]]:
    """Declaration versions, newest first, with the catalog each declared (a page of them)."""
    query = select(RegistryDeclaration).order_by(col(RegistryDeclaration.version).desc())
    query = query.offset(offset).limit(limit)
    return [(d, _catalog_of(d)) for d in session.execute(query).scalars()]


def count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(RegistryDeclaration)).scalar_one())


def _catalog_of(declaration: RegistryDeclaration | None) -> Catalog:
    if declaration is None:
        return BUILTIN
    return from_content(declaration.version, json.loads(declaration.content))


def _refuse_taking_columns_in_use(
    session: Session, document: str, previous: Catalog, catalog: Catalog
) -> None:
    changed = {
        old.name: catalog.column(old.name)
        for old in previous.declared_columns
        if _signature(previous, old) != _signature(catalog, catalog.column(old.name))
    }
    if not changed:
        return
    readers = columns_read_by_published(session)
    problems = [
        _in_use(document, previous, catalog, name, new, readers[name])
        for name, new in changed.items()
        if name in readers
    ]
    if problems:
        raise DeclarationError(document, problems)


def _signature(catalog: Catalog, column: Column | None) -> tuple[object, ...] | None:
    """What a rule relies on: the kind, its scale, and whether it is the firm's or an employee's."""
    if column is None or column.source is None:
        return None
    source = catalog.source(column.source)
    key = source.key.value if source is not None else None
    return (column.kind, column.scale, key)


def _in_use(
    document: str,
    previous: Catalog,
    catalog: Catalog,
    name: str,
    new: Column | None,
    policies: list[str],
) -> DeclarationProblem:
    readers = ", ".join(policies)
    if new is None or new.source is None:
        fields: dict[str, object] = {"name": name, "policies": readers}
        return DeclarationProblem(document, "", None, "declaration.removed_in_use", fields)
    index = next(i for i, s in enumerate(catalog.sources) if s.name == new.source)
    path = f"sources[{index}].columns.{name}.type"
    old = previous.column(name)
    fields = {
        "name": name,
        "policies": readers,
        "old": _type_words(previous, old),
        "new": _type_words(catalog, new),
    }
    return DeclarationProblem(document, path, None, "declaration.retyped_in_use", fields)


def _type_words(catalog: Catalog, column: Column | None) -> str:
    """`money (uscc)`, `decimal(4) (person_id)`: the kind and what a row is."""
    signature = _signature(catalog, column)
    if signature is None:
        return "-"
    kind, scale, key = signature
    shown = f"{kind}({scale})" if scale is not None else str(kind)
    return f"{shown} ({key})"


def _audited(declaration: RegistryDeclaration | None, catalog: Catalog) -> dict[str, object]:
    if declaration is None:
        return {}
    return {
        "version": declaration.version,
        "content_hash": declaration.content_hash,
        "sources": [s.name for s in catalog.sources],
        "columns": [c.name for c in catalog.declared_columns],
    }


# --- what rules may read, for officers -------------------------------------------------------


@dataclass(frozen=True)
class CatalogColumn:
    """One column a rule may read, as the officer's list shows it."""

    name: str
    type: str
    nullable: bool
    scope: str
    """`firm` (read by name) or `employee` (read as `e.<name>` in a comprehension)."""
    source: str
    """The declared source, or the built-in registry (`enterprises`, `employees`)."""
    department: str | None
    """The department that supplies a declared source; None for the built-in registries."""
    label_zh: str
    label_en: str
    description: str | None


@dataclass(frozen=True)
class CatalogView:
    version: int
    """The declaration version in force (0: nothing declared)."""
    columns: list[CatalogColumn]


def catalog_view(session: Session) -> CatalogView:
    """Every column of the catalog in force: the built-in registries', then the declared ones."""
    catalog = _catalog_of(latest_declaration(session))
    firm = [_shown(catalog, c, "firm", ENTERPRISES.name) for c in catalog.firm_columns]
    employee = [_shown(catalog, c, "employee", EMPLOYEES.name) for c in catalog.employee_columns]
    return CatalogView(catalog.version, firm + employee)


def _shown(catalog: Catalog, column: Column, scope: str, registry: str) -> CatalogColumn:
    source = catalog.source(column.source) if column.source is not None else None
    return CatalogColumn(
        name=column.name,
        type=column.kind.value,
        nullable=column.nullable,
        scope=scope,
        source=source.name if source is not None else registry,
        department=source.department if source is not None else None,
        label_zh=column.label_zh or _builtin_label("zh", column.name),
        label_en=column.label_en or _builtin_label("en", column.name),
        description=column.description,
    )


def _builtin_label(language: i18n.Language, name: str) -> str:
    """A built-in column's label (`column.<name>` in terms.po), its name while it has none."""
    key = f"column.{name}"
    return i18n.text(language, key) if i18n.has(language, key) else name
