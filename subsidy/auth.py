"""Who is calling: bearer tokens signed with the secret key, and the roles they carry.

Roles: `enterprise` (bound to one USCC: it sees and changes only that firm's data), `officer`,
`finance`, `auditor` (reads everything, changes nothing). Tokens are HS256 JWTs with an issue
time, an expiry no further than `QINQING_TOKEN_MAX_HOURS` after it and an id (`jti`); a token
that lacks `iat`, claims to be issued in the future or lives longer is refused, so a leaked
token is worth hours, not years. The secret never leaves the settings (it is a SecretStr and is
never logged).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

import jwt

from subsidy import actors
from subsidy.errors import QinqingError
from subsidy.registry.uscc import is_valid as is_valid_uscc
from subsidy.settings import Settings

ALGORITHM = "HS256"
DEFAULT_LIFETIME = dt.timedelta(hours=8)
CLOCK_SKEW = dt.timedelta(seconds=60)
"""How far in the future another machine's clock may put a token's `iat`."""


class Role(StrEnum):
    ENTERPRISE = "enterprise"
    OFFICER = "officer"
    FINANCE = "finance"
    AUDITOR = "auditor"


class AuthenticationError(QinqingError):
    """No token, or one that is forged, expired or malformed."""

    code = "auth.invalid"
    variants: ClassVar[tuple[str, ...]] = (
        "auth.expired",
        "auth.too_long",
        "auth.role_mismatch",
        "auth.missing",
        "auth.local_refused",
    )
    status, slug, title = 401, "unauthenticated", "Sign in first"

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    uscc: str | None = None
    """The firm an enterprise token speaks for; None for every other role."""

    @property
    def actor(self) -> str:
        """The caller as the audit trail and `changed_by` name it: `officer:li.wei` (the one
        convention, `subsidy.actors`; the system acts under `actors.SYSTEM_ACTORS`)."""
        return actors.actor(self.role, self.subject)


def check_firm(role: Role, uscc: str | None) -> None:
    """An enterprise speaks for exactly one firm (a valid USCC); no other role names one."""
    if (role is Role.ENTERPRISE) != (uscc is not None):
        raise ValueError("an enterprise token names exactly one USCC; other roles name none")
    if uscc is not None and not is_valid_uscc(uscc):
        raise ValueError(f"{uscc!r} is not a valid USCC")


def mint(
    settings: Settings,
    role: Role,
    *,
    subject: str,
    uscc: str | None = None,
    lifetime: dt.timedelta | None = None,
    now: dt.datetime | None = None,
) -> str:
    """A signed token; an enterprise token must name a valid USCC, no other role may. The
    lifetime defaults to 8 hours (or the maximum, if shorter) and may not exceed the maximum."""
    longest = max_lifetime(settings)
    lifetime = min(DEFAULT_LIFETIME, longest) if lifetime is None else lifetime
    if lifetime > longest:
        raise ValueError(
            f"a token may live at most {_hours(longest)} hours (QINQING_TOKEN_MAX_HOURS); "
            f"asked for {_hours(lifetime)}"
        )
    check_firm(role, uscc)
    issued = now or dt.datetime.now(dt.UTC)
    claims = {
        "sub": subject,
        "role": role.value,
        "iat": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    if uscc is not None:
        claims["uscc"] = uscc
    return jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=ALGORITHM)


def verify(settings: Settings, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[ALGORITHM],
            options={"require": ["sub", "role", "exp", "iat"]},
            leeway=CLOCK_SKEW,
        )
        role = Role(claims["role"])
    except jwt.ExpiredSignatureError as exc:
        raise AuthenticationError(code="auth.expired") from exc
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise AuthenticationError() from exc
    lived = dt.timedelta(seconds=int(claims["exp"]) - int(claims["iat"]))
    if lived > max_lifetime(settings):
        raise AuthenticationError(
            code="auth.too_long", hours=_hours(lived), limit=_hours(max_lifetime(settings))
        )
    uscc = claims.get("uscc")
    if (role is Role.ENTERPRISE) != isinstance(uscc, str):
        raise AuthenticationError(code="auth.role_mismatch")
    return Principal(subject=str(claims["sub"]), role=role, uscc=uscc)


def expires_at(token: str) -> dt.datetime:
    """When a token `verify` has accepted expires (read again without checking the signature)."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC)


def max_lifetime(settings: Settings) -> dt.timedelta:
    return dt.timedelta(hours=settings.token_max_hours)


def _hours(span: dt.timedelta) -> str:
    return f"{span.total_seconds() / 3600:g}"
