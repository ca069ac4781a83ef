"""Match runs and the qualifications they found.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from subsidy.db import Money, UTCDateTime, identifier

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "match_run",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("policy_id", identifier(64), sa.ForeignKey("policy.id"), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("enterprise_snapshot_id", sa.Integer(), nullable=False),
        sa.Column("employee_snapshot_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("firms", sa.Integer(), nullable=False),
        sa.Column("qualified", sa.Integer(), nullable=False),
        sa.Column("total_amount", Money(), nullable=False),
        sa.Column("evaluation_errors", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "qualification",
        sa.Column("uscc", identifier(18), primary_key=True),
        sa.Column("policy_id", identifier(64), sa.ForeignKey("policy.id"), primary_key=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("match_run.id"), nullable=False),
        sa.Column("amount", Money(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("qualification")
    op.drop_table("match_run")
