"""Who is calling: bearer tokens signed with the secret key, and the roles they carry.

Roles: `enterprise` (bound to one USCC: it sees and changes only that firm's data), `officer`,
`finance`, `auditor` (reads everything, changes nothing). Tokens are HS256 JWTs with an expiry;
the secret never leaves the settings (it is a SecretStr and is never logged).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

import jwt

from subsidy.errors import QinqingError
from subsidy.registry.uscc import is_valid as is_valid_uscc
from subsidy.settings import Settings

ALGORITHM = "HS256"
DEFAULT_LIFETIME = dt.timedelta(hours=8)


class Role(StrEnum):
    ENTERPRISE = "enterprise"
    OFFICER = "officer"
    FINANCE = "finance"
    AUDITOR = "auditor"


class AuthenticationError(QinqingError):
    """No token, or one that is forged, expired or malformed."""


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    uscc: str | None = None
    """The firm an enterprise token speaks for; None for every other role."""


def mint(
    settings: Settings,
    role: Role,
    *,
    subject: str,
    uscc: str | None = None,
    lifetime: dt.timedelta = DEFAULT_LIFETIME,
    now: dt.datetime | None = None,
) -> str:
    """A signed token; an enterprise token must name a valid USCC, no other role may."""
    if (role is Role.ENTERPRISE) != (uscc is not None):
        raise ValueError("an enterprise token names exactly one USCC; other roles name none")
    if uscc is not None and not is_valid_uscc(uscc):
        raise ValueError(f"{uscc!r} is not a valid USCC")
    issued = now or dt.datetime.now(dt.UTC)
    claims = {
        "sub": subject,
        "role": role.value,
        "iat": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
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
            options={"require": ["sub", "role", "exp"]},
        )
        role = Role(claims["role"])
    except jwt.ExpiredSignatureError as exc:
        raise AuthenticationError("the token has expired") from exc
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise AuthenticationError("the token is not valid") from exc
    uscc = claims.get("uscc")
    if (role is Role.ENTERPRISE) != isinstance(uscc, str):
        raise AuthenticationError("the token's role and firm do not match")
    return Principal(subject=str(claims["sub"]), role=role, uscc=uscc)
