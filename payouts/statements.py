"""A bank statement uploaded over HTTP (the portal's form, the API), reconciled as `qinqing
payouts reconcile FILE` does, and the statements reconciled so far.

The upload is written under its own name (only its last path part, in a fresh temporary
folder) so that the exceptions and the audit trail name the file finance chose; its name must
end as a statement's (.csv, .xlsx, or a bank's camt.053 .xml or MT940 .sta/.940/.mt940/.txt),
and the reader is picked by its content, as the command's (`payouts.statement`). A statement
is known by its SHA-256; its summary is the audit entry its reconciliation recorded, so the
page shows what the trail says.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from payouts import reconcile
from payouts.errors import InvalidPayoutInput, PayoutNotFound
from subsidy.audit.models import AuditEntry

SUFFIXES = (".csv", ".xlsx", ".xml", ".sta", ".940", ".mt940", ".txt")
MAX_NAME = 120
_UNSAFE = re.compile(r"[^\w.\- ]")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def safe_name(uploaded: str | None) -> str:
    """The upload's own file name, without any folder, with a statement's suffix."""
    name = PureWindowsPath(PurePosixPath(uploaded or "").name).name.strip()
    name = _UNSAFE.sub("_", name)[-MAX_NAME:]
    if not name.lower().endswith(SUFFIXES):
        raise InvalidPayoutInput(code="payout.statement_format", file=name or "-")
    return name


def reconcile_upload(
    session: Session, uploaded: str | None, data: bytes, *, by: str
) -> reconcile.Reconciliation:
    """Reconcile the uploaded bytes as a statement named `uploaded` (flush only;
    `BankFileError` with every problem located, `InvalidPayoutInput` for a name that is not a
    statement's)."""
    name = safe_name(uploaded)
    with tempfile.TemporaryDirectory(prefix="qinqing-statement-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return reconcile.reconcile(session, path, by=by)


def digest_of(reconciliation: reconcile.Reconciliation) -> str:
    return reconciliation.statement.rsplit("sha256:", 1)[-1]


@dataclass(frozen=True)
class Statement:
    sha256: str
    file: str
    reconciled_at: datetime
    by: str
    lines: int
    matched: int
    already_seen: int
    exceptions: dict[str, int]
    period: tuple[str, str] | None

    @property
    def name(self) -> str:
        """As the exceptions name it."""
        return f"{self.file} sha256:{self.sha256}"

    @property
    def exception_count(self) -> int:
        return sum(self.exceptions.values())


def _statements() -> Any:
    return select(AuditEntry).where(col(AuditEntry.action) == reconcile.RECONCILE)


def statement(session: Session, sha256: str) -> Statement:
    if not _SHA256.fullmatch(sha256):
        raise PayoutNotFound(code="payout.not_found.statement", sha256=sha256[:64])
    query = _statements().where(col(AuditEntry.subject) == f"bank-statement:{sha256}")
    entry = session.execute(query.limit(1)).scalars().first()
    if entry is None:
        raise PayoutNotFound(code="payout.not_found.statement", sha256=sha256)
    return _of(entry)


def statements(session: Session, *, offset: int, limit: int) -> tuple[list[Statement], int]:
    """The statements reconciled, newest first, a page of them and how many."""
    total = session.execute(
        select(func.count()).where(col(AuditEntry.action) == reconcile.RECONCILE)
    ).scalar_one()
    query = _statements().order_by(col(AuditEntry.id).desc()).offset(offset).limit(limit)
    return [_of(e) for e in session.execute(query).scalars()], int(total)


def _of(entry: AuditEntry) -> Statement:
    after = json.loads(entry.after)
    start, end = after.get("from"), after.get("to")
    return Statement(
        sha256=entry.subject.removeprefix("bank-statement:"),
        file=str(after.get("file", "")),
        reconciled_at=entry.at,
        by=entry.actor,
        lines=int(after.get("lines", 0)),
        matched=int(after.get("matched", 0)),
        already_seen=int(after.get("already_seen", 0)),
        exceptions={str(k): int(v) for k, v in (after.get("exceptions") or {}).items()},
        period=(str(start), str(end)) if start and end else None,
    )
