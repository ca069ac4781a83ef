"""Registry: enterprise, employee and registry_snapshot.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from subsidy.db import Money, UTCDateTime, identifier

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "enterprise",
        sa.Column("uscc", identifier(18), primary_key=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("district", sa.String(), nullable=False),
        sa.Column("industry", sa.String(), nullable=False),
        sa.Column("established", sa.Date(), nullable=False),
        sa.Column("size", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("tax_rating", sa.String(), nullable=False),
        sa.Column("dishonest", sa.Boolean(), nullable=False),
        sa.Column("high_tech", sa.Boolean(), nullable=False),
        sa.Column("revenue", Money(), nullable=True),
        sa.Column("tax_paid", Money(), nullable=True),
        sa.Column("ui_premium", Money(), nullable=True),
        sa.Column("bank_account", sa.String(), nullable=True),
    )
    op.create_index("ix_enterprise_district", "enterprise", ["district"])
    op.create_table(
        "employee",
        sa.Column("person_id", identifier(), primary_key=True),
        sa.Column("uscc", identifier(18), nullable=False),
        sa.Column("hire_date", sa.Date(), nullable=False),
        sa.Column("leave_date", sa.Date(), nullable=True),
        sa.Column("insured", sa.Boolean(), nullable=False),
        sa.Column("monthly_wage", Money(), nullable=True),
        sa.Column("local_hukou", sa.Boolean(), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
    )
    op.create_index("ix_employee_uscc", "employee", ["uscc"])
    op.create_table(
        "registry_snapshot",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("registry_name", sa.String(), nullable=False),
        sa.Column("source_name", sa.String(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("parquet_file", sa.String(), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_registry_snapshot_registry_name", "registry_snapshot", ["registry_name"])


def downgrade() -> None:
    op.drop_table("registry_snapshot")
    op.drop_table("employee")
    op.drop_table("enterprise")
