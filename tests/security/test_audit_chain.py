"""Issue 13, finding "the audit chain is plain SHA-256": whoever can write the database rewrote an
entry, recomputed every later hash, and `qinqing audit verify` said intact.

Each attack here is what someone with the database and without the audit key can do; each must
make verify name what broke and exit non-zero.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, insert, select, text, update
from sqlmodel import Session, col
from typer.testing import CliRunner

from subsidy import db
from subsidy.audit import service as audit
from subsidy.audit.models import AuditEntry, AuditHead
from subsidy.cli import app
from subsidy.errors import ConfigurationError
from subsidy.settings import Settings, get_settings
from tests.redemption.helpers import flat, load_registry, publish, redeem

runner = CliRunner()


def history(engine: Engine, transactions: int = 4) -> None:
    """A few committed transactions of two entries each."""
    for n in range(transactions):
        with db.session_scope(engine) as session:
            for part in ("a", "b"):
                audit.record(
                    session,
                    actor="officer:li.wei",
                    action="policy.publish",
                    subject=f"policy:p{n}{part}",
                    after={"state": "published", "n": n},
                )


def chain(engine: Engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.execute(select(AuditEntry).order_by(col(AuditEntry.id))).scalars())


def verdict(engine: Engine) -> audit.Verdict:
    with Session(engine) as session:
        return audit.verify(session)


def plain_body(entry: AuditEntry) -> str:
    """An entry's canonical body, as anyone who reads the code can compute it."""
    fields = {
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "before": entry.before,
        "after": entry.after,
    }
    return json.dumps(fields, sort_keys=True, ensure_ascii=False)


def rehash_from(engine: Engine, first: int) -> None:
    """The attacker recomputes the plain SHA-256 chain from entry `first` on, and the head."""
    with db.session_scope(engine) as session:
        entries = session.execute(select(AuditEntry).order_by(col(AuditEntry.id))).scalars()
        previous = audit.GENESIS
        for entry in entries:
            if entry.id is not None and entry.id >= first:
                entry.previous_hash = previous
                entry.hash = hashlib.sha256((previous + plain_body(entry)).encode()).hexdigest()
            previous = entry.hash
        session.execute(update(AuditHead).where(col(AuditHead.id) == 1).values(hash=previous))


def test_a_chain_rewritten_with_the_database_alone_is_caught(app_env: Engine) -> None:
    history(app_env)
    victim = chain(app_env)[2]
    assert victim.id is not None
    with db.session_scope(app_env) as session:
        session.execute(
            update(AuditEntry).where(col(AuditEntry.id) == victim.id).values(actor="officer:x")
        )
    rehash_from(app_env, victim.id)

    found = verdict(app_env)
    assert (found.first_broken, found.entries) == (victim.id, 3)
    assert "does not match its MAC" in str(found.reason)
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"audit chain broken at entry {victim.id}" in result.output


def test_a_truncated_chain_is_caught_by_its_checkpoint(
    app_env: Engine, audit_checkpoints: Path
) -> None:
    history(app_env)
    *kept, _, _ = chain(app_env)  # the last transaction's two entries go
    with db.session_scope(app_env) as session:
        session.execute(delete(AuditEntry).where(col(AuditEntry.id) > kept[-1].id))
        session.execute(
            update(AuditHead)
            .where(col(AuditHead.id) == 1)
            .values(hash=kept[-1].hash, previous=kept[-2].hash)
        )

    found = verdict(app_env)
    assert found.first_broken is None
    assert "cut short or rolled back past this checkpoint" in str(found.reason)
    today = next(audit_checkpoints.glob("*.jsonl"))
    assert found.checkpoint == f"{today}:4"  # the fourth transaction's checkpoint
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"audit chain broken at checkpoint {today}:4" in result.output


def test_a_forged_checkpoint_is_caught(app_env: Engine, audit_checkpoints: Path) -> None:
    history(app_env, transactions=2)
    path = next(audit_checkpoints.glob("*.jsonl"))
    lines = path.read_text().splitlines()
    forged = json.loads(lines[0]) | {"mac": "f" * 64}  # signed for another MAC
    path.write_text("\n".join([json.dumps(forged), *lines[1:]]) + "\n")

    found = verdict(app_env)
    assert (found.checkpoint, found.first_broken) == (f"{path}:1", None)
    assert "signature does not match the audit key" in str(found.reason)
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"checkpoint {path}:1" in result.output


def test_a_chain_rolled_back_and_rewritten_differs_from_its_checkpoint(
    engine: Engine, audit_checkpoints: Path
) -> None:
    """A restored older copy that went on to new entries under the same ids (same key even):
    the checkpoint of the lost head names the entry that differs."""
    history(engine, transactions=2)
    *_, head, lost = chain(engine)
    with db.session_scope(engine) as session:
        session.execute(delete(AuditEntry).where(col(AuditEntry.id) == lost.id))
        session.execute(update(AuditHead).where(col(AuditHead.id) == 1).values(hash=head.hash))
    if engine.dialect.name == "postgresql":  # reuse the id, as a restored sequence would
        with engine.begin() as connection:
            connection.execute(text(f"SELECT setval('audit_entry_id_seq', {(lost.id or 0) - 1})"))
    with db.session_scope(engine) as session:
        audit.record(session, actor="system:x", action="policy.publish", subject="policy:other")
    again = chain(engine)[-1]
    assert again.id == lost.id
    found = verdict(engine)
    assert found.first_broken == lost.id
    assert "differs from the checkpoint" in str(found.reason)


def test_the_mac_needs_the_key(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    history(engine, transactions=1)
    first = chain(engine)[0]
    assert (
        first.hash != hashlib.sha256((first.previous_hash + plain_body(first)).encode()).hexdigest()
    )
    assert verdict(engine).reason is None
    monkeypatch.setenv("QINQING_AUDIT_KEY", "another-key-" + "k" * 32)
    get_settings.cache_clear()
    found = verdict(engine)
    assert found.first_broken == first.id
    assert "QINQING_AUDIT_KEY is not the key" in str(found.reason)


def test_production_needs_an_audit_key_of_32_bytes() -> None:
    production = {
        "environment": "production",
        "secret_key": "s" * 64,
        "bank_url": "files:///srv/bank",
    }
    with pytest.raises(ConfigurationError, match="QINQING_AUDIT_KEY is not set"):
        Settings(**production)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="QINQING_AUDIT_KEY has 31 bytes"):
        Settings(**production, audit_key="k" * 31)  # type: ignore[arg-type]
    assert Settings(**production, audit_key="k" * 32).audit_key_bytes == b"k" * 32  # type: ignore[arg-type]
    assert Settings().audit_key_is_development


def test_a_batch_writes_one_checkpoint(engine: Engine, audit_checkpoints: Path) -> None:
    changes = [audit.Change("payout.item", f"payout-item:{n}") for n in range(3_000)]
    with db.session_scope(engine) as session:
        audit.record_many(session, actor="system:payouts", changes=changes)
    with db.session_scope(engine) as session:
        audit.record(session, actor="system:x", action="y", subject="z")
        session.rollback()  # nothing committed: no checkpoint
    (path,) = audit_checkpoints.glob("*.jsonl")
    (line,) = path.read_text().splitlines()
    assert json.loads(line)["entry"] == chain(engine)[-1].id
    assert verdict(engine).checkpoints == 1


def test_the_checkpoint_command(app_env: Engine, audit_checkpoints: Path) -> None:
    history(app_env, transactions=1)
    result = runner.invoke(app, ["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    assert f"checkpoint of entry {chain(app_env)[-1].id} written" in result.output
    assert "the development key" in result.output
    assert sum(1 for _ in next(audit_checkpoints.glob("*.jsonl")).open()) == 2
    assert "2 checkpoints" in runner.invoke(app, ["audit", "verify"]).output


# --- the chain begun before the key (migration 0013) -----------------------------------------


def test_a_plain_chain_is_sealed_once_and_stays_verifiable(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'legacy.db'}")
    db.upgrade(engine, "0011")
    previous = audit.GENESIS
    with engine.begin() as connection:
        for n in range(3):
            entry = AuditEntry(
                at=db.utcnow(),
                actor="officer-1",
                action="policy.publish",
                subject=f"policy:p{n}",
                before="{}",
                after="{}",
                previous_hash=previous,
                hash="",
            )
            entry.hash = hashlib.sha256((previous + plain_body(entry)).encode()).hexdigest()
            connection.execute(insert(AuditEntry).values(entry.model_dump(exclude={"id"})))
            previous = entry.hash
        connection.execute(update(AuditHead).where(col(AuditHead.id) == 1).values(hash=previous))
    db.upgrade(engine)
    legacy = chain(engine)
    assert [e.action for e in legacy] == ["policy.publish"] * 3 + [audit.SEAL]
    assert verdict(engine).reason is None
    db.upgrade(engine)  # once only
    assert len(chain(engine)) == 4

    # An old entry rewritten and the plain hashes recomputed: the seal's MAC no longer holds.
    with db.session_scope(engine) as session:
        session.execute(
            update(AuditEntry).where(col(AuditEntry.id) == legacy[1].id).values(actor="x")
        )
    rehash_from(engine, legacy[1].id or 0)
    assert verdict(engine).first_broken == legacy[3].id
    engine.dispose()


def test_no_unkeyed_entry_after_the_seal(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'legacy.db'}")
    db.upgrade(engine, "0011")
    with db.session_scope(engine) as session:
        session.execute(
            insert(AuditEntry).values(
                at=db.utcnow(),
                actor="a",
                action="b",
                subject="c",
                before="{}",
                after="{}",
                previous_hash=audit.GENESIS,
                hash="0" * 64,
            )
        )
    rehash_from(engine, 1)
    db.upgrade(engine)
    with db.session_scope(engine) as session:
        audit.record(session, actor="officer:li", action="policy.publish", subject="policy:p")
    newest = chain(engine)[-1]
    assert verdict(engine).reason is None
    rehash_from(engine, newest.id or 0)  # the keyed newest entry made plain again
    found = verdict(engine)
    assert (found.first_broken, "MAC" in str(found.reason)) == (newest.id, True)
    engine.dispose()


# --- PostgreSQL: the one-statement redemption computes the same MAC --------------------------


@pytest.mark.postgres
def test_the_one_statement_redemption_is_keyed_like_python(
    pg_engine: Engine, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    firms = load_registry(pg_engine, data_dir, tmp_path / "registry", 50)
    publish(pg_engine, flat("keyed", 100, 10_000))
    for uscc in firms[:3]:
        redeem(pg_engine, uscc, "keyed", f"k-{uscc}")
    entries = chain(pg_engine)
    assert [e.action for e in entries][-3:] == ["redemption.reserve"] * 3
    assert verdict(pg_engine).reason is None
    assert verdict(pg_engine).checkpoints == 4  # the publication and each redemption

    monkeypatch.setenv("QINQING_AUDIT_KEY", "another-key-" + "k" * 32)
    get_settings.cache_clear()
    first_redemption = entries[-3]
    with Session(pg_engine) as session:
        found = audit.verify(session, Path("/nonexistent"))
    assert found.first_broken == entries[0].id  # nothing verifies under another key
    monkeypatch.delenv("QINQING_AUDIT_KEY")
    get_settings.cache_clear()

    with db.session_scope(pg_engine) as session:
        session.execute(
            update(AuditEntry)
            .where(col(AuditEntry.id) == first_redemption.id)
            .values(after=first_redemption.after.replace('"amount": "100.00"', '"amount": "1.00"'))
        )
    rehash_from(pg_engine, first_redemption.id or 0)
    assert verdict(pg_engine).first_broken == first_redemption.id


def test_verify_warns_when_it_finds_no_checkpoint(
    app_env: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    history(app_env, transactions=1)
    monkeypatch.setenv("QINQING_AUDIT_CHECKPOINT_DIR", str(tmp_path / "elsewhere"))
    get_settings.cache_clear()
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0
    assert "no checkpoint in" in result.output
