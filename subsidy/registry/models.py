"""Registry tables: the enterprises and employees of the current snapshot, and the snapshots.

An import replaces a table's rows wholesale and records a `RegistrySnapshot`; the accepted data is
also kept as an immutable Parquet file (named by the source file's hash) so any later match can be
reproduced on exactly the data it saw.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from subsidy.db import Money, UTCDateTime, identifier, utcnow


class Enterprise(SQLModel, table=True):
    __tablename__ = "enterprise"

    uscc: str = Field(primary_key=True, max_length=18)
    name: str
    district: str = Field(index=True)
    industry: str
    established: date
    size: str
    status: str
    tax_rating: str
    dishonest: bool
    high_tech: bool
    revenue: Decimal | None = Field(default=None, sa_column=Column(Money()))
    tax_paid: Decimal | None = Field(default=None, sa_column=Column(Money()))
    ui_premium: Decimal | None = Field(default=None, sa_column=Column(Money()))
    bank_account: str | None = None


class Employee(SQLModel, table=True):
    __tablename__ = "employee"
    __table_args__ = (Index("ix_employee_uscc", "uscc"),)

    person_id: str = Field(primary_key=True)
    uscc: str = Field(max_length=18)
    hire_date: date
    leave_date: date | None = None
    insured: bool
    monthly_wage: Decimal | None = Field(default=None, sa_column=Column(Money()))
    local_hukou: bool
    birth_date: date | None = None


class RegistrySnapshot(SQLModel, table=True):
    __tablename__ = "registry_snapshot"

    id: int | None = Field(default=None, primary_key=True)
    registry_name: str = Field(index=True, description="enterprises or employees")
    source_name: str
    content_hash: str = Field(max_length=64, description="sha256 of the source file's bytes")
    row_count: int
    parquet_file: str = Field(description="file name in the data directory")
    imported_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    declaration_version: int | None = Field(
        default=None,
        description="a declared source's snapshot: the declaration version its file was checked "
        "under (None for the built-in registries)",
    )


class RegistryDeclaration(SQLModel, table=True):
    """One version of the registry schema document: the sources departments supply.

    Versions are immutable and numbered from 1; the highest is in force (`catalog.current`).
    """

    __tablename__ = "registry_declaration"

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True)
    document: str = Field(sa_column=Column(Text, nullable=False), description="the YAML as sent")
    content: str = Field(
        sa_column=Column(Text, nullable=False), description="canonical JSON of the sources"
    )
    content_hash: str = Field(max_length=64, description="sha256 of `content`")
    declared_by: str = Field(max_length=128, description="the actor, `<role>:<subject>`")
    declared_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))


class SourceRow(SQLModel, table=True):
    """One row of a declared source's current import: the firm's or person's values as JSON.

    `data` maps each declared column to its value: text as a string, an integer as a number,
    money and decimals as exact decimal strings, a date as ISO 8601, a flag as a boolean, an
    empty cell as null. A source's import replaces all of its rows.
    """

    __tablename__ = "source_row"

    source: str = Field(sa_column=Column(identifier(64), primary_key=True))
    key: str = Field(sa_column=Column(identifier(32), primary_key=True))
    data: str = Field(sa_column=Column(Text, nullable=False))
