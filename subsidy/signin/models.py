"""The tables of signing in: a session per sign-in, a one-time code per sign-in link.

Both keep only the SHA-256 of their secret (the cookie's session id, the link's code): both are
32 random bytes, so a plain hash is enough to make a stolen table useless.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, String
from sqlmodel import Field, SQLModel

from subsidy.db import UTCDateTime, identifier, utcnow


class PortalSession(SQLModel, table=True):
    __tablename__ = "portal_session"
    __table_args__ = (Index("ix_portal_session_expires", "expires_at"),)

    id: int | None = Field(default=None, primary_key=True)
    id_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    subject: str = Field(sa_column=Column(String(200), nullable=False))
    uscc: str | None = Field(default=None, sa_column=Column(identifier(18), nullable=True))
    method: str = Field(sa_column=Column(String(16), nullable=False))
    """How the person proved who they are: `code`, `token` (later e.g. `oidc`)."""
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    """The absolute end: sign-in plus QINQING_SESSION_HOURS (no later than a token's expiry)."""
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class SignInCode(SQLModel, table=True):
    __tablename__ = "sign_in_code"
    __table_args__ = (Index("ix_sign_in_code_expires", "expires_at"),)

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    subject: str = Field(sa_column=Column(String(200), nullable=False))
    uscc: str | None = Field(default=None, sa_column=Column(identifier(18), nullable=True))
    issued_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime()))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
