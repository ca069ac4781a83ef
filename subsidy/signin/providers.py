"""Signing in through someone else's proof of identity: the `IdentityProvider` adapter.

A provider has two halves of one sign-in, a redirect out and a callback in:

    begin(request, next_path)   -> the redirect to the provider's login (and whatever this
                                   browser must carry back: a signed, short-lived cookie)
    complete(request, session)  -> `SignedIn`: the `Identity` (subject, role, USCC, display
                                   name), checked against the registry, and a hint for sign-out
    sign_out_url(request, hint) -> where the browser goes after the portal's session is closed
                                   (the provider's own sign-out), or None

The portal (`subsidy/web/sign_in.py`) does the rest the same way for every provider: it opens the
session with `service.open_session(..., method=provider.method)` (audited), sets the session
cookie, and on sign-out closes the session before sending the browser to `sign_out_url`. A
refusal is an `IdentityRefused` whose words the sign-in page shows.

`OidcProvider` (`subsidy/signin/oidc.py`) is the first implementation. A provincial ticket-based
SSO plugs in the same way; Zhejiang's 浙里办 legal-person sign-in, for instance:

    class ZlbLegalPersonProvider:
        method = "zlb"
        name = "浙里办"
        def begin(self, request, next_path):
            # redirect to the SSO's login page with our service (callback) URL; keep next_path
            # and a random state in a signed, short-lived cookie, as OidcProvider does
        def complete(self, request, session):
            # the callback carries `ticket`: exchange it server to server (the SSO's ticket
            # validation API, signed with the app's access key) for the person, the firm's USCC
            # and their standing in it (legal representative, authorised agent); refuse a
            # standing the province does not let act for the firm, then
            identity = Identity(subject=person_id_hash, role=Role.ENTERPRISE, uscc=uscc,
                                display_name=firm_name)
            return SignedIn(check_registered(session, identity), sign_out_hint=None)
        def sign_out_url(self, request, hint):
            return None  # or the SSO's logout URL, if it offers one

and the assembly (`subsidy/web/sign_in.py`, `identity_provider`) returns it when its settings are
present. Whatever it returns must have passed `identity.claims.check_registered`, and its USCC
`is_valid` (GB 32100-2015), exactly as the OpenID path checks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from subsidy.identity.claims import Identity


@dataclass(frozen=True)
class SignedIn:
    identity: Identity
    next_path: str
    """Where the user was going when the sign-in began (a path on this site)."""
    sign_out_hint: str | None = None
    """What `sign_out_url` needs later (the ID token, for RP-initiated logout)."""


class IdentityProvider(Protocol):
    method: str
    """How the session was proved, as `open_session` records it (`oidc`, `zlb`)."""

    @property
    def name(self) -> str:
        """The provider's name on the sign-in button."""
        ...

    def begin(self, request: Request, next_path: str) -> Response: ...

    def complete(self, request: Request, session: Session) -> SignedIn: ...

    def sign_out_url(self, request: Request, hint: str | None) -> str | None: ...
