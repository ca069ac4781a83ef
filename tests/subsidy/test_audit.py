"""The audit chain: state changes append MAC-chained entries; any tampering is named (the forgeries
of someone without the audit key: tests/security/test_audit_chain.py)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, delete, update
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from policies import service as policy_service
from policies.document import load_path
from policies.models import PolicyState
from subsidy import db
from subsidy.audit import service as audit
from subsidy.audit.models import AuditEntry
from subsidy.cli import app
from tests.policies.two_officers import change_state

EXAMPLE = Path(__file__).parents[2] / "policies" / "examples" / "hz-2020-ui-refund.yaml"


def changes(engine: Engine) -> None:
    approved = policy_service.approve(load_path(EXAMPLE), "ui.yaml")
    with db.session_scope(engine) as session:
        policy_service.publish(session, approved, by="officer-1")
    with db.session_scope(engine) as session:
        change_state(
            session,
            "hz-2020-ui-refund",
            PolicyState.SUSPENDED,
            maker="officer:o1",
            checker="officer:o2",
        )
    with db.session_scope(engine) as session:
        change_state(
            session,
            "hz-2020-ui-refund",
            PolicyState.CLOSED,
            maker="officer:o1",
            checker="officer:o3",
        )


def entries(engine: Engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEntry).order_by(col(AuditEntry.id))))


def verdict(engine: Engine, *, checkpoints: bool = True) -> audit.Verdict:
    """The chain's verdict, against the test's checkpoints or none (an empty folder)."""
    with Session(engine) as session:
        return audit.verify(session, None if checkpoints else Path("/nonexistent"))


def test_state_changes_are_chained_with_who_and_what(engine: Engine) -> None:
    changes(engine)
    chain = entries(engine)
    assert [(e.action, e.actor) for e in chain] == [
        ("policy.publish", "officer-1"),
        ("policy.suspend-requested", "officer:o1"),
        ("policy.suspended", "officer:o2"),
        ("policy.close-requested", "officer:o1"),
        ("policy.closed", "officer:o3"),
    ]
    assert chain[0].previous_hash == audit.GENESIS
    assert [e.previous_hash for e in chain[1:]] == [e.hash for e in chain[:-1]]
    assert '"state": "suspended"' in chain[2].after
    assert '"requested_by": "officer:o1"' in chain[2].after
    # Three transactions appended entries: three checkpoints.
    assert verdict(engine) == audit.Verdict(5, None, None, None, checkpoints=3)


def test_an_edited_entry_is_named(engine: Engine) -> None:
    changes(engine)
    second = entries(engine)[1]
    with db.session_scope(engine) as session:
        session.execute(
            update(AuditEntry).where(col(AuditEntry.id) == second.id).values(actor="nobody")
        )
    found = verdict(engine)
    assert (found.entries, found.first_broken) == (2, second.id)
    assert str(found.reason).startswith("its content does not match")


def test_a_removed_entry_is_named(engine: Engine) -> None:
    changes(engine)
    _, second, third, *_ = entries(engine)
    with db.session_scope(engine) as session:
        session.execute(delete(AuditEntry).where(col(AuditEntry.id) == second.id))
    found = verdict(engine)
    assert (found.first_broken, found.reason) == (
        third.id,
        "it does not follow the entry before it",
    )


def test_a_truncated_chain_is_noticed(engine: Engine) -> None:
    changes(engine)
    last = entries(engine)[-1]
    with db.session_scope(engine) as session:
        session.execute(delete(AuditEntry).where(col(AuditEntry.id) == last.id))
    assert verdict(engine, checkpoints=False).reason == "entries after the last one were removed"


def test_the_verify_command(app_env: Engine) -> None:
    runner = CliRunner()
    changes(app_env)
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "audit chain intact: 5 entries, 3 checkpoints" in result.output
    with db.session_scope(app_env) as session:
        session.execute(update(AuditEntry).values(subject="policy:other"))
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert "audit chain broken at entry 1" in result.output
