"""Payouts: approval state on redemptions, firm flags, the ledger, batches, items, and
reconciliation exceptions. Existing redemptions become approved, and the ledger is opened with
their reservation and approval so it adds up from the start.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from subsidy.db import Money, UTCDateTime, identifier

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "redemption", sa.Column("changed_by", sa.String(128), nullable=False, server_default="")
    )
    op.add_column("redemption", sa.Column("account_override", sa.String(40), nullable=True))
    op.execute("UPDATE redemption SET status = 'approved' WHERE status = 'reserved'")
    op.create_index("ix_redemption_status", "redemption", ["status"])
    op.create_table(
        "firm_flag",
        sa.Column("uscc", identifier(18), primary_key=True),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("flagged_by", sa.String(), nullable=False),
        sa.Column("flagged_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("policy_id", identifier(64), nullable=False),
        sa.Column("uscc", identifier(18), nullable=False),
        sa.Column("redemption_id", sa.Integer(), sa.ForeignKey("redemption.id"), nullable=False),
        sa.Column("payout_item_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("memo", sa.String(64), nullable=False),
    )
    op.create_index("ix_ledger_policy", "ledger_entry", ["policy_id"])
    op.create_index("ix_ledger_redemption", "ledger_entry", ["redemption_id"])
    for source, target, memo in (
        ("budget", "reserved", "reserve"),
        ("reserved", "payable", "approve"),
    ):
        op.execute(
            "INSERT INTO ledger_entry (at, policy_id, uscc, redemption_id, source, target, "
            f"amount, memo) SELECT created_at, policy_id, uscc, id, '{source}', '{target}', "
            f"amount, '{memo}' FROM redemption"
        )
    op.create_table(
        "payout_batch",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("bank_code", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("total", Money(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "payout_item",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("payout_batch.id"), nullable=False),
        sa.Column("redemption_id", sa.Integer(), sa.ForeignKey("redemption.id"), nullable=False),
        sa.Column("policy_id", identifier(64), nullable=False),
        sa.Column("uscc", identifier(18), nullable=False),
        sa.Column("payee_name", sa.String(), nullable=False),
        sa.Column("bank_code", sa.String(16), nullable=False),
        sa.Column("account", sa.String(40), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("offset", Money(), nullable=False),
        sa.Column("net", Money(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("bank_reference", sa.String(64), nullable=True),
        sa.Column("reason_code", sa.String(16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_payout_item_batch", "payout_item", ["batch_id", "state"])
    op.create_index("ix_payout_item_redemption", "payout_item", ["redemption_id"])
    op.create_index("ix_payout_item_state", "payout_item", ["state"])
    op.create_index(
        "uq_payout_item_live",
        "payout_item",
        ["redemption_id"],
        unique=True,
        sqlite_where=sa.text("state <> 'returned'"),
        postgresql_where=sa.text("state <> 'returned'"),
    )
    op.create_table(
        "reconciliation_exception",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("statement", sa.String(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payout_item_id", sa.Integer(), nullable=True),
        sa.Column("bank_reference", sa.String(64), nullable=True),
        sa.Column("amount", Money(), nullable=True),
        sa.Column("expected", Money(), nullable=True),
        sa.Column("detail", sa.String(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("reconciliation_exception")
    op.drop_table("payout_item")
    op.drop_table("payout_batch")
    op.drop_table("ledger_entry")
    op.drop_table("firm_flag")
    op.drop_index("ix_redemption_status", "redemption")
    op.execute("UPDATE redemption SET status = 'reserved'")
    with op.batch_alter_table("redemption") as table:
        table.drop_column("changed_by")
        table.drop_column("account_override")
