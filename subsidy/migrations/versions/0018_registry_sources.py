"""Declared registry sources: the declaration's versions, each source's current rows, and the
source snapshots a match run read.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from subsidy.db import UTCDateTime

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registry_declaration",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("version", sa.Integer(), nullable=False, unique=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("declared_by", sa.String(128), nullable=False),
        sa.Column("declared_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "source_row",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(32), primary_key=True),
        sa.Column("data", sa.Text(), nullable=False),
    )
    with op.batch_alter_table("match_run") as batch:
        batch.add_column(sa.Column("source_snapshots", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("match_run") as batch:
        batch.drop_column("source_snapshots")
    op.drop_table("source_row")
    op.drop_table("registry_declaration")
