"""E-mail notices: a notification may be undelivered (no address, an invalid one, refused by the
relay, or unreachable after every attempt), with the reason and when; a transient failure counts
its attempts and backs off until `next_attempt_at`.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from subsidy.db import UTCDateTime

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification") as batch:
        batch.add_column(sa.Column("undelivered", sa.String(16), nullable=True))
        batch.add_column(sa.Column("undelivered_reason", sa.String(500), nullable=True))
        batch.add_column(sa.Column("undelivered_at", UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch.add_column(sa.Column("next_attempt_at", UTCDateTime(), nullable=True))
    op.create_index("ix_notification_undelivered", "notification", ["undelivered", "id"])


def downgrade() -> None:
    op.drop_index("ix_notification_undelivered", "notification")
    with op.batch_alter_table("notification") as batch:
        batch.drop_column("next_attempt_at")
        batch.drop_column("attempts")
        batch.drop_column("undelivered_at")
        batch.drop_column("undelivered_reason")
        batch.drop_column("undelivered")
