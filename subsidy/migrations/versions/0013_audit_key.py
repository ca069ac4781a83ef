"""The audit chain is keyed: entries are HMAC-SHA256 under QINQING_AUDIT_KEY from here on.

Entries written before were plain SHA-256, which anyone who can write the database recomputes.
Rather than re-hash them (which would bless whatever they hold now and lose the hashes they were
written with) or mark each row with its scheme (a column the same writer could flip back to
"sha256"), the upgrade appends one keyed `audit.seal` entry after them: `verify` checks the
entries before the first seal as plain SHA-256 and everything from it on under the key, and the
seal's MAC covers the old chain's head, so rewriting any old entry breaks the seal. A chain
without a seal must be keyed throughout. No schema change: the `hash` columns hold MACs of the
same length.

Downgrade leaves the entries as they are (the seal and later entries then fail the old plain
verify, truthfully: they are not plain SHA-256).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from subsidy.audit.service import seal_legacy_chain

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    seal_legacy_chain(op.get_bind())


def downgrade() -> None:
    pass
