"""Policy drafts: an officer's document as sent, until it is published.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from subsidy.db import UTCDateTime, identifier

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_draft",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("policy_id", identifier(), nullable=True),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=True),
    )
    op.create_index("ix_policy_draft_policy_id", "policy_draft", ["policy_id"])


def downgrade() -> None:
    op.drop_index("ix_policy_draft_policy_id", table_name="policy_draft")
    op.drop_table("policy_draft")
