"""Each firm's e-mail address, from a declared registry column, checked before any relay sees it.

The address is a text column of a `uscc`-keyed declared source (QINQING_MAIL_ADDRESS_COLUMN), read
through the registry's per-firm read (`subsidy.registry.service.firm_data`), so that it is the
value rules would read: the latest import under the declaration in force. A firm the source has
no row for, or whose cell is empty, has no address; an address a relay could not take (a display
name, two addresses, a quoted local part, a domain that is not a host name) is invalid, with why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session

from subsidy.errors import ConfigurationError
from subsidy.i18n import LANGUAGES, Language
from subsidy.notifications.models import Undelivered
from subsidy.registry import catalog as registry_catalog
from subsidy.registry import service as registry_service
from subsidy.registry.catalog import Catalog
from subsidy.registry.schema import Kind

MAX_ADDRESS = 254
"""RFC 5321's longest path (256) less its angle brackets."""
MAX_LOCAL = 64
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
LOCAL_PART = re.compile(rf"{_ATOM}(\.{_ATOM})*\Z")
"""A dot-atom (RFC 5322): what every relay takes; quoted local parts are refused."""
LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
ADDRESS_LIKE = re.compile(r"[^\s<>@,;:\"]+@[^\s<>@,;:\"]+")
"""Anything shaped like an address in a relay's reply, hidden before it is stored or logged."""


@dataclass(frozen=True)
class Contact:
    """Where a firm's notice goes: `address` (checked, its domain in ASCII), or why not."""

    name: str | None
    address: str | None = None
    problem: Undelivered | None = None
    reason: str | None = None
    languages: tuple[Language, ...] = LANGUAGES
    """Chinese first, unless the firm's language (QINQING_MAIL_LANGUAGE_COLUMN) is English."""


class InvalidAddress(ValueError):
    """Why a text is not an address a relay takes (the address itself is not repeated)."""


def checked(text: str) -> str:
    """`text` as one deliverable address (`name@xn--...`), or InvalidAddress saying why."""
    address = text.strip()
    if len(address) > MAX_ADDRESS:
        raise InvalidAddress(f"longer than {MAX_ADDRESS} characters")
    if "<" in address or ">" in address:
        raise InvalidAddress("a display name or angle brackets: give the bare address")
    if any(c in address for c in ",;") or len(address.split()) > 1:
        raise InvalidAddress("more than one address, or spaces: give the firm one address")
    local, at, domain = address.rpartition("@")
    if not at or not local:
        raise InvalidAddress("no '@' with a name before it")
    if len(local) > MAX_LOCAL or not LOCAL_PART.match(local):
        raise InvalidAddress(
            "the part before '@' is not plain ASCII letters, digits and .!#$%&'*+/=?^_`{|}~-"
        )
    return f"{local}@{_ascii_domain(domain)}"


def _ascii_domain(domain: str) -> str:
    """The domain as relays read it: each label in IDNA (中文.cn -> xn--fiq228c.cn)."""
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidAddress("the domain is not a host name") from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(LABEL.match(label) for label in labels):
        raise InvalidAddress("the domain is not a host name with a dot (example.cn)")
    if labels[-1].isdigit():
        raise InvalidAddress("the domain is a number, not a host name")
    return ascii_domain


def hidden(reply: str) -> str:
    """A relay's reply with any address in it hidden (replies often echo the recipient)."""
    return ADDRESS_LIKE.sub("(address)", reply)


class AddressBook:
    """The firms' addresses in the declared column `column` (QINQING_MAIL_ADDRESS_COLUMN), and
    their languages in `language_column` when one is named (QINQING_MAIL_LANGUAGE_COLUMN)."""

    def __init__(self, column: str, language_column: str = "") -> None:
        self.column = column
        self.language_column = language_column

    def check(self, catalog: Catalog) -> None:
        """The columns must be text columns of uscc-keyed sources in force: else nobody could
        be reached, which is a setting to correct, not a notice to mark undelivered."""
        if not self.column:
            raise ConfigurationError(
                "QINQING_MAIL_ADDRESS_COLUMN is not set: name the declared text column that "
                "holds each firm's e-mail address"
            )
        _check_text_column(catalog, self.column, "QINQING_MAIL_ADDRESS_COLUMN")
        if self.language_column:
            _check_text_column(catalog, self.language_column, "QINQING_MAIL_LANGUAGE_COLUMN")

    def reader(self, session: Session) -> AddressReader:
        catalog = registry_catalog.current(session)
        self.check(catalog)
        return AddressReader(session, catalog, self.column, self.language_column)


def _check_text_column(catalog: Catalog, name: str, variable: str) -> None:
    for source in catalog.firm_sources():
        for column in source.columns:
            if column.name == name and column.kind is Kind.TEXT:
                return
            if column.name == name:
                raise ConfigurationError(
                    f"{variable}: the column {name!r} of source {source.name!r} is "
                    f"{column.kind.value}, not text"
                )
    declared = ", ".join(c.name for s in catalog.firm_sources() for c in s.columns)
    raise ConfigurationError(
        f"{variable}: no uscc-keyed declared source has a column {name!r} (declaration "
        f"version {catalog.version}; firm columns declared: {declared or 'none'}); declare it "
        "(`qinqing registry declare`) and import it"
    )


def languages_for(value: object) -> tuple[Language, ...]:
    """The order a firm reads its notice in: English first for `en` (`en-GB`, `English`),
    else Chinese first."""
    said = str(value or "").strip().lower()
    return ("en", "zh") if said.startswith("en") else LANGUAGES


class AddressReader:
    """Contacts read in one session under one catalog (each firm read once)."""

    def __init__(
        self, session: Session, catalog: Catalog, column: str, language_column: str = ""
    ) -> None:
        self._session = session
        self._catalog = catalog
        self._column = column
        self._language_column = language_column
        self._seen: dict[str, Contact] = {}

    def contact(self, uscc: str) -> Contact:
        if uscc not in self._seen:
            self._seen[uscc] = self._read(uscc)
        return self._seen[uscc]

    def _read(self, uscc: str) -> Contact:
        data = registry_service.firm_data(self._session, uscc, self._catalog)
        if data is None:
            return Contact(None, problem=Undelivered.NO_ADDRESS, reason="not in the registry")
        firm, _ = data
        name = firm.get("name")
        value = firm.get(self._column)
        if value is None or not str(value).strip():
            reason = f"the column {self._column} is empty for this firm"
            return Contact(name, problem=Undelivered.NO_ADDRESS, reason=reason)
        languages = (
            languages_for(firm.get(self._language_column)) if self._language_column else LANGUAGES
        )
        try:
            return Contact(name, address=checked(str(value)), languages=languages)
        except InvalidAddress as exc:
            reason = f"the column {self._column}: {exc}"
            return Contact(name, problem=Undelivered.INVALID_ADDRESS, reason=reason)
