"""A provider's claims -> who signs in: the role from the groups claim through the role map, or a
firm bound to the USCC the provider asserts.

The rule for several groups: groups that map to one role give that role; groups that map to two
different roles are refused (`identity.ambiguous_role`), since one person holding two staff roles
would defeat maker-checker; a firm's USCC claim beside a mapped staff group is refused the same
way. A claim name may be a dotted path (`realm_access.roles`, Keycloak's realm roles); its value
a list or one space- or comma-separated string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session

from subsidy.auth import Principal, Role
from subsidy.identity.errors import IdentityRefused
from subsidy.registry.models import Enterprise
from subsidy.registry.uscc import is_valid as is_valid_uscc
from subsidy.settings import Settings

MAX_SUBJECT = 200
"""The longest subject a portal session holds (`portal_session.subject`)."""


@dataclass(frozen=True)
class Identity:
    """Who a provider says signed in, as the portal knows people."""

    subject: str
    role: Role
    uscc: str | None = None
    display_name: str | None = None

    @property
    def principal(self) -> Principal:
        return Principal(subject=self.subject, role=self.role, uscc=self.uscc)


def identity_from(settings: Settings, claims: Mapping[str, object]) -> Identity:
    """The identity verified claims describe, or `IdentityRefused` naming what is missing."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise IdentityRefused(code="identity.token", detail="the token names no subject (sub)")
    if len(subject) > MAX_SUBJECT:  # the sessions' and the audit's subject column
        raise IdentityRefused(
            code="identity.token", detail=f"the subject (sub) is longer than {MAX_SUBJECT}"
        )
    name = claims.get("name")
    display = name if isinstance(name, str) else None
    uscc = _text(claim(claims, settings.oidc_uscc_claim))
    roles = staff_roles(settings, claims)
    if uscc is not None:
        if roles:
            raise IdentityRefused(
                code="identity.ambiguous_role", roles=", ".join(sorted({"enterprise", *roles}))
            )
        if not is_valid_uscc(uscc):
            raise IdentityRefused(
                code="identity.invalid_uscc", uscc=uscc, claim=settings.oidc_uscc_claim
            )
        return Identity(subject, Role.ENTERPRISE, uscc, display)
    if not roles:
        raise IdentityRefused(
            code="identity.no_role",
            claim=settings.oidc_roles_claim,
            groups=", ".join(groups_of(settings, claims)) or "-",
        )
    if len(roles) > 1:
        raise IdentityRefused(code="identity.ambiguous_role", roles=", ".join(sorted(roles)))
    return Identity(subject, Role(roles.pop()), None, display)


def staff_roles(settings: Settings, claims: Mapping[str, object]) -> set[str]:
    """The distinct portal roles the user's groups map to."""
    mapping = settings.role_map
    return {mapping[group] for group in groups_of(settings, claims) if group in mapping}


def groups_of(settings: Settings, claims: Mapping[str, object]) -> list[str]:
    found = claim(claims, settings.oidc_roles_claim)
    if isinstance(found, str):
        return [part for part in found.replace(",", " ").split() if part]
    if isinstance(found, list | tuple):
        return [str(group).lstrip("/") for group in found]  # Keycloak writes "/finance"
    return []


def claim(claims: Mapping[str, object], path: str) -> object:
    """A claim by name, or by a dotted path into nested claims."""
    if path in claims:
        return claims[path]
    found: object = claims
    for part in path.split("."):
        if not isinstance(found, Mapping) or part not in found:
            return None
        found = found[part]
    return found


def check_registered(session: Session, identity: Identity) -> Identity:
    """A firm's user speaks only for a firm in the enterprise registry."""
    if identity.uscc is not None and session.get(Enterprise, identity.uscc) is None:
        raise IdentityRefused(code="identity.unregistered_uscc", uscc=identity.uscc)
    return identity


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
