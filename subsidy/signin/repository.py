"""The queries of signing in. Only hashes reach the database."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col, select

from subsidy.signin.models import PortalSession, SignInCode


def code_by_hash(session: Session, code_hash: str) -> SignInCode | None:
    return session.exec(select(SignInCode).where(col(SignInCode.code_hash) == code_hash)).first()


def use_code(session: Session, code_hash: str, now: datetime) -> bool:
    """Mark the code used if it is still unused and alive: one conditional UPDATE, so two
    requests racing with the same code cannot both win."""
    used: CursorResult[tuple[()]] = session.execute(  # type: ignore[assignment]
        update(SignInCode)
        .where(col(SignInCode.code_hash) == code_hash)
        .where(col(SignInCode.used_at).is_(None))
        .where(col(SignInCode.expires_at) > now)
        .values(used_at=now)
    )
    return used.rowcount == 1


def session_by_hash(session: Session, id_hash: str) -> PortalSession | None:
    return session.exec(select(PortalSession).where(col(PortalSession.id_hash) == id_hash)).first()


def purge(session: Session, now: datetime, idle: timedelta) -> tuple[int, int]:
    """Delete the sessions that can no longer be resumed and the codes that can no longer be
    used; (sessions, codes) deleted."""
    sessions: CursorResult[tuple[()]] = session.execute(  # type: ignore[assignment]
        delete(PortalSession).where(
            or_(
                col(PortalSession.expires_at) <= now,
                col(PortalSession.last_seen_at) <= now - idle,
                col(PortalSession.revoked_at).is_not(None),
            )
        )
    )
    codes: CursorResult[tuple[()]] = session.execute(  # type: ignore[assignment]
        delete(SignInCode).where(
            or_(col(SignInCode.expires_at) <= now, col(SignInCode.used_at).is_not(None))
        )
    )
    return sessions.rowcount, codes.rowcount
