"""The life of a portal session, from a proof of identity to sign-out.

A proof (a one-time code, a verified bearer token, later an OpenID sign-in) gives a `Principal`;
`open_session` stores it and returns the session id the cookie carries. Codes and session ids
are 32 random bytes (`secrets.token_urlsafe`); the tables keep their SHA-256 only. Everything
here flushes and never commits (the request or command commits).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from subsidy.audit import service as audit
from subsidy.auth import Principal, Role, check_firm, expires_at, verify
from subsidy.db import utcnow
from subsidy.settings import Settings
from subsidy.signin import repository
from subsidy.signin.errors import SignInRefused
from subsidy.signin.models import PortalSession, SignInCode

CODE_ISSUED = "signin.code_issued"
OPENED = "signin.session_opened"
CLOSED = "signin.session_closed"
SEEN_EVERY = timedelta(seconds=60)
"""`last_seen_at` is written at most this often, so reading pages does not write each time."""


@dataclass(frozen=True)
class IssuedCode:
    code: str
    """Shown once (in the sign-in link); only its hash is stored."""
    expires_at: datetime


@dataclass(frozen=True)
class Opened:
    principal: Principal
    session_id: str
    """For the cookie, and nowhere else; only its hash is stored."""
    expires_at: datetime


def actor(principal: Principal) -> str:
    return f"{principal.role}:{principal.subject}"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- one-time sign-in codes ------------------------------------------------------------------


def issue_code(
    session: Session,
    settings: Settings,
    principal: Principal,
    *,
    issued_by: str,
    now: datetime | None = None,
) -> IssuedCode:
    """A code that signs `principal` in once, within QINQING_SIGN_IN_CODE_MINUTES."""
    check_firm(principal.role, principal.uscc)
    now = now or utcnow()
    code = secrets.token_urlsafe(32)
    row = SignInCode(
        code_hash=digest(code),
        role=principal.role.value,
        subject=principal.subject,
        uscc=principal.uscc,
        issued_by=issued_by,
        created_at=now,
        expires_at=now + timedelta(minutes=settings.sign_in_code_minutes),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=issued_by,
        action=CODE_ISSUED,
        subject=f"sign_in_code:{row.id}",
        after={**_who(principal), "expires_at": row.expires_at.isoformat()},
    )
    return IssuedCode(code, row.expires_at)


def peek_code(session: Session, code: str, now: datetime | None = None) -> Principal:
    """Whom a code would sign in, without using it (the form names them before the click)."""
    row = repository.code_by_hash(session, digest(code))
    _refuse_unusable(row, now or utcnow())
    assert row is not None
    return _principal(row.role, row.subject, row.uscc)


def redeem_code(session: Session, code: str, now: datetime | None = None) -> Principal:
    """Use a code: whom it signs in. Afterwards it is dead, also for a request racing this one."""
    now = now or utcnow()
    hashed = digest(code)
    if not repository.use_code(session, hashed, now):
        _refuse_unusable(repository.code_by_hash(session, hashed), now)
        raise SignInRefused("used")  # a concurrent request used it between the two queries
    row = repository.code_by_hash(session, hashed)
    assert row is not None
    return _principal(row.role, row.subject, row.uscc)


def _refuse_unusable(row: SignInCode | None, now: datetime) -> None:
    if row is None:
        raise SignInRefused("unknown")
    if row.used_at is not None:
        raise SignInRefused("used")
    if row.expires_at <= now:
        raise SignInRefused("expired")


# --- sessions --------------------------------------------------------------------------------


def open_session(
    session: Session,
    settings: Settings,
    principal: Principal,
    *,
    method: str,
    not_after: datetime | None = None,
    now: datetime | None = None,
) -> Opened:
    """A new session for `principal` (proved by `method`), ending QINQING_SESSION_HOURS from
    now or at `not_after` (a token's expiry), whichever is first. Audited."""
    now = now or utcnow()
    session_id = secrets.token_urlsafe(32)
    ends = now + timedelta(hours=settings.session_hours)
    row = PortalSession(
        id_hash=digest(session_id),
        role=principal.role.value,
        subject=principal.subject,
        uscc=principal.uscc,
        method=method,
        created_at=now,
        expires_at=min(ends, not_after) if not_after else ends,
        last_seen_at=now,
    )
    session.add(row)
    session.flush()
    after = {**_who(principal), "method": method, "expires_at": row.expires_at.isoformat()}
    audit.record(
        session,
        actor=actor(principal),
        action=OPENED,
        subject=f"portal_session:{row.id}",
        after=after,
    )
    return Opened(principal, session_id, row.expires_at)


def sign_in_with_code(
    session: Session, settings: Settings, code: str, *, replacing: str | None = None
) -> Opened:
    """A sign-in link's click: the code is used (once) and a session opened for its principal;
    `replacing` (the browser's previous session, if any) is closed first."""
    principal = redeem_code(session, code)
    if replacing:
        close(session, replacing)
    return open_session(session, settings, principal, method="code")


def sign_in_with_token(
    session: Session, settings: Settings, token: str, *, replacing: str | None = None
) -> Opened:
    """A pasted bearer token: a session for its principal that ends no later than the token."""
    principal = verify(settings, token)
    if replacing:
        close(session, replacing)
    return open_session(session, settings, principal, method="token", not_after=expires_at(token))


def resume(
    session: Session, settings: Settings, session_id: str, now: datetime | None = None
) -> Principal:
    """The principal of a live session; refused once revoked, past its end or idle too long."""
    now = now or utcnow()
    row = repository.session_by_hash(session, digest(session_id))
    if row is None:
        raise SignInRefused("unknown", session=True)
    if row.revoked_at is not None:
        raise SignInRefused("revoked")
    if row.expires_at <= now:
        raise SignInRefused("expired", session=True)
    if row.last_seen_at + timedelta(minutes=settings.session_idle_minutes) <= now:
        raise SignInRefused("idle")
    if now - row.last_seen_at >= SEEN_EVERY:
        row.last_seen_at = now
        session.flush()
    return _principal(row.role, row.subject, row.uscc)


def close(session: Session, session_id: str, now: datetime | None = None) -> bool:
    """Sign-out: revoke the session (audited); False when there was no live one to revoke."""
    row = repository.session_by_hash(session, digest(session_id))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now or utcnow()
    session.flush()
    principal = _principal(row.role, row.subject, row.uscc)
    audit.record(
        session,
        actor=actor(principal),
        action=CLOSED,
        subject=f"portal_session:{row.id}",
        before={"revoked_at": None},
        after={"revoked_at": row.revoked_at.isoformat()},
    )
    return True


def purge(session: Session, settings: Settings, now: datetime | None = None) -> tuple[int, int]:
    """Delete ended sessions and dead codes (the audit trail keeps who signed in and out):
    (sessions, codes) deleted."""
    idle = timedelta(minutes=settings.session_idle_minutes)
    return repository.purge(session, now or utcnow(), idle)


def _principal(role: str, subject: str, uscc: str | None) -> Principal:
    return Principal(subject=subject, role=Role(role), uscc=uscc)


def _who(principal: Principal) -> dict[str, str | None]:
    return {"role": principal.role.value, "subject": principal.subject, "uscc": principal.uscc}
