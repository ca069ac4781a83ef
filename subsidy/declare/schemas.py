"""What the declaration endpoints take and answer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field

from subsidy.api.params import RequestModel
from subsidy.declare.service import CatalogColumn, Declared
from subsidy.registry.catalog import Catalog, Source
from subsidy.registry.declarations import MAX_DOCUMENT_CHARS
from subsidy.registry.models import RegistryDeclaration


class DeclarationIn(RequestModel):
    """A declaration as its YAML text, with the name messages give it (`tax-2020.yaml`)."""

    document: Annotated[str, Field(min_length=1, max_length=200)] = "declaration.yaml"
    text: Annotated[str, Field(max_length=MAX_DOCUMENT_CHARS)]


class LabelOut(BaseModel):
    zh: str
    en: str


class DeclaredColumnOut(BaseModel):
    name: str
    type: str
    nullable: bool
    label: LabelOut
    description: str | None
    scale: int | None
    max_length: int | None


class SourceOut(BaseModel):
    name: str
    department: str
    key: str
    description: str | None
    columns: list[DeclaredColumnOut]

    @classmethod
    def of(cls, source: Source) -> SourceOut:
        return cls(
            name=source.name,
            department=source.department,
            key=source.key.value,
            description=source.description,
            columns=[
                DeclaredColumnOut(
                    name=c.name,
                    type=c.kind.value,
                    nullable=c.nullable,
                    label=LabelOut(zh=c.label_zh or c.name, en=c.label_en or c.name),
                    description=c.description,
                    scale=c.scale,
                    max_length=c.max_length,
                )
                for c in source.columns
            ],
        )


class DeclarationOut(BaseModel):
    version: int
    declared_by: str
    declared_at: dt.datetime
    content_hash: str
    sources: list[SourceOut]

    @classmethod
    def of(cls, declaration: RegistryDeclaration, catalog: Catalog) -> DeclarationOut:
        return cls(
            version=declaration.version,
            declared_by=declaration.declared_by,
            declared_at=declaration.declared_at,
            content_hash=declaration.content_hash,
            sources=[SourceOut.of(s) for s in catalog.sources],
        )


class DeclaredOut(DeclarationOut):
    created: bool
    """False: the document declares what is in force already; no new version."""

    @classmethod
    def of_declared(cls, declared: Declared) -> DeclaredOut:
        base = DeclarationOut.of(declared.declaration, declared.catalog)
        return cls(**base.model_dump(), created=declared.created)


class CatalogColumnOut(BaseModel):
    """One column a rule may read."""

    name: str
    label: LabelOut
    type: str
    scope: str
    """`firm`: read by name; `employee`: read as `e.<name>` over `employees`."""
    source: str
    """The declared source, or the built-in registry (`enterprises`, `employees`)."""
    department: str | None
    nullable: bool
    description: str | None

    @classmethod
    def of(cls, column: CatalogColumn) -> CatalogColumnOut:
        return cls(
            name=column.name,
            label=LabelOut(zh=column.label_zh, en=column.label_en),
            type=column.type,
            scope=column.scope,
            source=column.source,
            department=column.department,
            nullable=column.nullable,
            description=column.description,
        )


class CatalogOut(BaseModel):
    version: int
    """The declaration version in force (0: nothing declared)."""
    columns: list[CatalogColumnOut]
