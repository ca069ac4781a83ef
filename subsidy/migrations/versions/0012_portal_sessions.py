"""Portal sessions held by the server (sign-out revokes them) and one-time sign-in codes (the
sign-in links carry a code, never a token). Only hashes of session ids and codes are stored.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from subsidy.db import UTCDateTime, identifier

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_session",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("id_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("uscc", identifier(18), nullable=True),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_portal_session_expires", "portal_session", ["expires_at"])
    op.create_table(
        "sign_in_code",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("uscc", identifier(18), nullable=True),
        sa.Column("issued_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_sign_in_code_expires", "sign_in_code", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_code_expires", "sign_in_code")
    op.drop_table("sign_in_code")
    op.drop_index("ix_portal_session_expires", "portal_session")
    op.drop_table("portal_session")
