"""Statement lines: every line reconciliation matched to a payout item, so that a payment (or a
return) of an item on one statement file is compared with the lines earlier files had for it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from subsidy.db import Money, UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "statement_line",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("statement_sha256", sa.String(64), nullable=False),
        sa.Column("statement_file", sa.String(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payout_item_id", sa.Integer(), sa.ForeignKey("payout_item.id"), nullable=False),
        sa.Column("bank_reference", sa.String(), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("reconciled_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("statement_sha256", "line", name="uq_statement_line"),
    )
    op.create_index("ix_statement_line_item", "statement_line", ["payout_item_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_statement_line_item", "statement_line")
    op.drop_table("statement_line")
