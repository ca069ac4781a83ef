"""Payout runs started from the portal or the API (their progress), the batches each gathered,
and the receiving account finance enters for a firm the registry gives none (maker-checker).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from subsidy.db import Money, UTCDateTime, identifier

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payout_run",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("batch_size", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("gathered_at", UTCDateTime(), nullable=True),
        sa.Column("items", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("total", Money(), nullable=False, server_default="0"),
        sa.Column("without_account", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text(), nullable=True),
    )
    with op.batch_alter_table("payout_batch") as batch:
        batch.add_column(
            sa.Column(
                "run_id",
                sa.Integer(),
                sa.ForeignKey("payout_run.id", name="fk_payout_batch_run"),
                nullable=True,
            )
        )
    op.create_index("ix_payout_batch_run", "payout_batch", ["run_id"])
    op.create_table(
        "payee_account",
        sa.Column("uscc", identifier(18), primary_key=True),
        sa.Column("account", sa.String(40), nullable=False),
        sa.Column("entered_by", sa.String(128), nullable=False),
        sa.Column("entered_at", UTCDateTime(), nullable=False),
        sa.Column("confirmed_by", sa.String(128), nullable=True),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("payee_account")
    op.drop_index("ix_payout_batch_run", "payout_batch")
    with op.batch_alter_table("payout_batch") as batch:
        batch.drop_constraint("fk_payout_batch_run", type_="foreignkey")
        batch.drop_column("run_id")
    op.drop_table("payout_run")
