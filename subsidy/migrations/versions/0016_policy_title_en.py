"""A policy's English title beside its Chinese one, so lists show the reader's language.

Until now a document had one `title` in no particular language; it becomes both titles of the
existing rows (what a plain-text title means: the same words in every language).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("policy") as batch:
        batch.add_column(sa.Column("title_en", sa.String(), nullable=True))
    op.execute("UPDATE policy SET title_en = title")
    with op.batch_alter_table("policy") as batch:
        batch.alter_column("title_en", existing_type=sa.String(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("policy") as batch:
        batch.drop_column("title_en")
