"""The notification outbox.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from subsidy.db import Money, UTCDateTime, identifier

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("uscc", identifier(18), nullable=False),
        sa.Column("policy_id", identifier(64), sa.ForeignKey("policy.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("uscc", "policy_id", "kind", name="uq_notification_once"),
    )
    op.create_index("ix_notification_pending", "notification", ["delivered_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_notification_pending", "notification")
    op.drop_table("notification")
