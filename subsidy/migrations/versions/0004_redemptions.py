"""Redemptions and policy budgets.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from subsidy.db import Money, UTCDateTime, identifier

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_budget",
        sa.Column("policy_id", identifier(64), sa.ForeignKey("policy.id"), primary_key=True),
        sa.Column("budget", Money(), nullable=False),
        sa.Column("reserved", Money(), nullable=False),
    )
    op.create_table(
        "redemption",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("uscc", identifier(18), nullable=False),
        sa.Column("policy_id", identifier(64), sa.ForeignKey("policy.id"), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("group_key", sa.String(64), nullable=True),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("uscc", "policy_id", name="uq_redemption_firm_policy"),
        sa.UniqueConstraint("uscc", "group_key", name="uq_redemption_firm_group"),
        sa.UniqueConstraint("uscc", "idempotency_key", name="uq_redemption_firm_key"),
    )


def downgrade() -> None:
    op.drop_table("redemption")
    op.drop_table("policy_budget")
