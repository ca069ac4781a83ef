"""Only `subsidy/redemption/` writes `redemption.status`, `policy_budget` and `firm_flag` (issue 17,
point 1): read in the source, and watched while every other test runs (`tests.ownership`)."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text, update
from sqlmodel import Session, col

from subsidy.redemption.models import PolicyBudget, Redemption, RedemptionStatus
from tests import ownership
from tests.payouts.payments import World, make_world

OWNED_CLASSES = {"Redemption", "PolicyBudget", "FirmFlag"}
ROGUE = "payouts/rogue.py"
"""Where the guard's test pretends a write comes from: a module that is not the owner."""


@pytest.fixture
def world(engine: Engine, data_dir: Path, tmp_path: Path) -> World:
    return make_world(engine, data_dir, tmp_path, firms=3)


def _run_as(relative: str, source: str, **names: object) -> None:
    """Run `source` as if it were code of the product module at `relative`."""
    code = compile(source, str(ownership.ROOT / relative), "exec")
    exec(code, dict(names))


def _writes(session: Session, redemption_id: int) -> str:
    return (
        f"found = session.get(Redemption, {redemption_id})\n"
        "found.status = RedemptionStatus.PAID\n"
        "session.execute(update(PolicyBudget).values(reserved=PolicyBudget.reserved))\n"
        "session.execute(text('UPDATE firm_flag SET reason = reason'))\n"
    )


def test_the_guard_names_a_write_from_outside_the_owner(world: World) -> None:
    redemption_id = world.redeem(0)
    names = {
        "Redemption": Redemption,
        "RedemptionStatus": RedemptionStatus,
        "PolicyBudget": PolicyBudget,
        "update": update,
        "text": text,
    }
    ownership.take_violations()
    with Session(world.engine) as session:
        _run_as(ROGUE, _writes(session, redemption_id), session=session, **names)
        found = ownership.take_violations()
        _run_as(
            "subsidy/redemption/payment.py",
            _writes(session, redemption_id),
            session=session,
            **names,
        )
        by_owner = ownership.take_violations()
        session.rollback()
    assert found == [
        f"redemption.status written at {ROGUE}:2",
        f"policy_budget (SQL) written at {ROGUE}:3",
        f"firm_flag (SQL) written at {ROGUE}:4",
    ]
    assert by_owner == []


def test_a_write_from_a_test_itself_is_not_the_products(world: World) -> None:
    """Set-up a test writes by hand has no product frame: it is not a violation."""
    redemption_id = world.redeem(0)
    with Session(world.engine) as session:
        session.execute(
            update(Redemption)
            .where(col(Redemption.id) == redemption_id)
            .values(amount=Decimal("1.00"))
        )
        session.rollback()
    assert ownership.take_violations() == []


def _product_files() -> list[Path]:
    found = []
    for package in ownership.PACKAGES:
        for path in sorted((ownership.ROOT / package).rglob("*.py")):
            relative = path.relative_to(ownership.ROOT).as_posix()
            if not relative.startswith(("subsidy/redemption/", "subsidy/migrations/")):
                found.append(path)
    return found


def _static_writes(path: Path) -> list[str]:
    """The writes of the owned rows that the source of `path` spells out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            found += _called(node)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = ownership.SQL_WRITE.search(node.value)
            found += [f"SQL writing {match.group(1)} at line {node.lineno}"] if match else []
        elif isinstance(node, ast.Assign | ast.AugAssign):
            found += _assigned(node)
    return found


def _called(node: ast.Call) -> list[str]:
    """`update(Redemption)`, `insert(PolicyBudget)`, `delete(FirmFlag)`, `FirmFlag(...)`."""
    func = node.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    first = node.args[0] if node.args else None
    if called in ("update", "insert", "delete") and _names_owned(first):
        return [f"{called}({ast.unparse(first)}) at line {node.lineno}"]  # type: ignore[arg-type]
    if called in OWNED_CLASSES:
        return [f"a new {called} at line {node.lineno}"]
    return []


def _assigned(node: ast.Assign | ast.AugAssign) -> list[str]:
    """`<a redemption>.status = ...` (its payee, its maker), or `.status = RedemptionStatus.X`."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    value = ast.unparse(node.value)
    return [
        f"{ast.unparse(target)} = {value} at line {node.lineno}"
        for target in targets
        if isinstance(target, ast.Attribute)
        and target.attr in ownership.WATCHED_COLUMNS
        and ("RedemptionStatus" in value or "redemption" in ast.unparse(target.value).lower())
    ]


def _names_owned(node: ast.expr | None) -> bool:
    if node is None:
        return False
    spelled = ast.unparse(node)
    return any(spelled == c or spelled.startswith(f"{c}.") for c in OWNED_CLASSES)


def test_no_module_outside_the_owner_spells_a_write_of_its_rows() -> None:
    files = _product_files()
    assert len(files) > 100  # the walk reads the product, not an empty folder
    found = {
        path.relative_to(ownership.ROOT).as_posix(): writes
        for path in files
        if (writes := _static_writes(path))
    }
    assert found == {}


def test_the_static_reading_finds_the_owners_own_writes() -> None:
    """The same reading of the owner's modules finds their writes (it would find nothing if it
    were blind)."""
    owner = ownership.ROOT / "subsidy" / "redemption"
    writes = {p.name: _static_writes(p) for p in owner.glob("*.py")}
    assert any("status" in w for w in writes["payment.py"])
    assert any("update(PolicyBudget)" in w for w in writes["repository.py"])
    assert any("a new FirmFlag" in w for w in writes["approval.py"])
    assert any("SQL writing policy_budget" in w for w in writes["repository.py"])
