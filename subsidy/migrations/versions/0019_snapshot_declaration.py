"""A declared source's snapshot records the declaration version its file was checked under, so
that a later declaration which drops or retypes one of its columns reads null for it rather than
values typed by another declaration.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("registry_snapshot") as batch:
        batch.add_column(sa.Column("declaration_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("registry_snapshot") as batch:
        batch.drop_column("declaration_version")
