"""The audit chain's head keeps the hash before the newest too.

An append in one SQL statement (redemptions on PostgreSQL) then moves the head with a single
UPDATE, `SET previous = hash, hash = sha256(hash || entry)`, and reads both from RETURNING,
instead of locking the row in one part of the statement and updating it in another.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "audit_head",
        sa.Column("previous", sa.String(64), nullable=False, server_default="0" * 64),
    )


def downgrade() -> None:
    with op.batch_alter_table("audit_head") as table:
        table.drop_column("previous")
