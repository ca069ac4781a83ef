"""The ownership guard: only `subsidy/redemption/` writes `redemption.status` (and the other
columns a redemption's changes set), `policy_budget` and `firm_flag` (issue 17, point 1).

Installed for the whole suite (tests/conftest.py), so every test that drives the product is also
a test of who writes these rows. It watches two ways in:
- the ORM: a Redemption's status, payee or maker set, or a Redemption, PolicyBudget or FirmFlag
  made or deleted, seen where the attribute is set or the object made (attribute and mapper
  events), not where a later flush sends it;
- SQL: an INSERT, UPDATE or DELETE of one of the three tables, as a statement or as text, seen
  where it is executed (the engine's `before_execute`; the ORM's own flushes are left to the
  first way).
For each it finds the innermost frame of the product's own code (the database and bulk-copy
helpers skipped: they write for whoever calls them) and records a violation unless that frame is
in `subsidy/redemption/` or a migration. Tests' own set-up writes have no such frame and pass.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy import Delete, Engine, Insert, TextClause, Update, event
from sqlalchemy.orm import Session

from subsidy.redemption.models import FirmFlag, PolicyBudget, Redemption

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("subsidy", "payouts", "policies", "matching", "reports")
PRODUCT = tuple(str(ROOT / name) + "/" for name in PACKAGES)
OWNERS = (str(ROOT / "subsidy" / "redemption") + "/", str(ROOT / "subsidy" / "migrations") + "/")
HELPERS = (str(ROOT / "subsidy" / "db.py"), str(ROOT / "subsidy" / "bulk.py"))
"""Product modules that write for their caller: the caller is the writer."""

TABLES = ("redemption", "policy_budget", "firm_flag")
WATCHED_COLUMNS = ("status", "account_override", "changed_by")
SQL_WRITE = re.compile(
    r"\b(?:UPDATE|INSERT\s+INTO|DELETE\s+FROM)\s+(" + "|".join(TABLES) + r")\b", re.IGNORECASE
)

violations: list[str] = []
"""What was written from outside the owner since the last `take_violations()`."""


def writer() -> str | None:
    """The innermost product frame on the stack (file:line), None when no product code is on it."""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if path.startswith(PRODUCT) and not path.startswith(HELPERS):
            return f"{path}:{frame.f_lineno}"
        frame = frame.f_back
    return None


def _check(what: str) -> None:
    found = writer()
    if found is not None and not found.startswith(OWNERS):
        violations.append(f"{what} written at {Path(found).relative_to(ROOT)}")


def _on_set(what: str) -> Any:
    def listener(target: Any, value: Any, old: Any, initiator: Any) -> None:
        _check(what)

    return listener


def _statement_table(statement: Any) -> str | None:
    if isinstance(statement, (Insert, Update, Delete)):
        name = getattr(statement.table, "name", None)
        return name if name in TABLES else None
    if isinstance(statement, TextClause):
        match = SQL_WRITE.search(statement.text)
        return match.group(1).lower() if match else None
    return None


def _before_execute(conn: Any, statement: Any, *args: Any) -> None:
    table = _statement_table(statement)
    if table is not None and not _in_flush():
        _check(f"{table} (SQL)")


def _in_flush() -> bool:
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "flush" and "sqlalchemy/orm" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


def _on_init(what: str) -> Any:
    def listener(target: Any, args: Any, kwargs: Any) -> None:
        _check(f"a new {what}")

    return listener


def _on_delete(session: Session, instance: Any) -> None:
    if isinstance(instance, (Redemption, PolicyBudget, FirmFlag)):
        _check(f"a deleted {type(instance).__tablename__}")


_LISTENERS: list[tuple[Any, str, Any]] = [
    *((getattr(Redemption, c), "set", _on_set(f"redemption.{c}")) for c in WATCHED_COLUMNS),
    (PolicyBudget.reserved, "set", _on_set("policy_budget.reserved")),
    (FirmFlag.reason, "set", _on_set("firm_flag.reason")),
    (Redemption, "init", _on_init("redemption")),
    (PolicyBudget, "init", _on_init("policy_budget")),
    (FirmFlag, "init", _on_init("firm_flag")),
    (Session, "persistent_to_deleted", _on_delete),
    (Engine, "before_execute", _before_execute),
]


@contextmanager
def guarded() -> Iterator[None]:
    """Watch every write of the owned rows while the block runs."""
    for target, name, fn in _LISTENERS:
        event.listen(target, name, fn)
    try:
        yield
    finally:
        for target, name, fn in _LISTENERS:
            event.remove(target, name, fn)


def take_violations() -> list[str]:
    found = list(dict.fromkeys(violations))
    violations.clear()
    return found
