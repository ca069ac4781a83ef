"""A real SMTP server on loopback for the e-mail sender's tests (aiosmtpd), and a throwaway CA.

The relay answers as real ones do: an address starting `refuse` is refused for good (550), one
starting `busy` is deferred (451) the first time and accepted after; every accepted message is
kept as the bytes that arrived. Plain, STARTTLS (required) or implicit TLS, with AUTH when asked.
When aiosmtpd or cryptography is missing the tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal, NoReturn

import pytest

USER = "qinqing"
PASSWORD = "relay-password-for-tests"


def unavailable(message: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@dataclass(frozen=True)
class Authority:
    """A CA of the test's own and a certificate it signed for 127.0.0.1 and localhost."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def throwaway_authority(folder: Path) -> Authority:
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError as exc:
        unavailable(f"cryptography is not installed (pip install -e '.[dev]'): {exc}")

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Qinqing test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    authority = Authority(folder / "ca.pem", folder / "relay.pem", folder / "relay.key")
    authority.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    authority.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    authority.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return authority


@dataclass
class Collector:
    """The relay's handler: refuses, defers and keeps messages as described above."""

    received: list[tuple[list[str], bytes]] = field(default_factory=list)
    deferred: Counter[str] = field(default_factory=Counter)
    logins: list[str] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("refuse"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: mailbox unavailable"
        if address.startswith("busy") and self.deferred[address] == 0:
            self.deferred[address] += 1
            return "451 4.3.0 <" + address + ">: temporarily deferred, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((list(envelope.rcpt_tos), bytes(envelope.original_content)))
        return "250 2.0.0 queued"

    def messages(self) -> list[EmailMessage]:
        parsed = [message_from_bytes(raw, policy=policy.default) for _, raw in self.received]
        return [m for m in parsed if isinstance(m, EmailMessage)]

    def recipients(self) -> list[str]:
        return [to for tos, _ in self.received for to in tos]


@dataclass(frozen=True)
class Relay:
    host: str
    port: int
    collector: Collector


Tls = Literal["none", "starttls", "ssl"]


@contextmanager
def relay(
    tls: Tls = "none", *, authority: Authority | None = None, auth: bool = False
) -> Iterator[Relay]:
    """A relay on 127.0.0.1 (a free port), stopped afterwards."""
    try:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword
    except ImportError as exc:
        unavailable(f"aiosmtpd is not installed (pip install -e '.[dev]'): {exc}")

    def authenticate(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        if ok:
            collector.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)

    collector = Collector()
    options: dict[str, Any] = {}
    if tls != "none":
        assert authority is not None
        context = authority.server_context()
        if tls == "ssl":
            options["ssl_context"] = context
        else:
            options["tls_context"] = context
            options["require_starttls"] = True
    if auth:
        options["authenticator"] = authenticate
        options["auth_required"] = True
        # aiosmtpd counts only STARTTLS as TLS for AUTH; implicit TLS is TLS all the same.
        options["auth_require_tls"] = tls == "starttls"
    port = _free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port, **options)
    try:
        controller.start()
    except Exception as exc:
        unavailable(f"the test SMTP relay could not start on 127.0.0.1:{port}: {exc}")
    try:
        yield Relay("127.0.0.1", port, collector)
    finally:
        controller.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
