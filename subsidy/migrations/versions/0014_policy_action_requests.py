"""Policy action requests: suspending or closing a policy is requested by one officer and
confirmed by another (at most one pending request per policy).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from subsidy.db import UTCDateTime, identifier

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING_ONLY = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_table(
        "policy_action_request",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("policy_id", identifier(64), sa.ForeignKey("policy.id"), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
    )
    op.create_index(
        "uq_policy_action_request_pending",
        "policy_action_request",
        ["policy_id"],
        unique=True,
        sqlite_where=PENDING_ONLY,
        postgresql_where=PENDING_ONLY,
    )
    op.create_index("ix_policy_action_request_status", "policy_action_request", ["status", "id"])


def downgrade() -> None:
    op.drop_index("ix_policy_action_request_status", table_name="policy_action_request")
    op.drop_index("uq_policy_action_request_pending", table_name="policy_action_request")
    op.drop_table("policy_action_request")
