"""The registry commands as a user runs them: demo data, imports, refusals, status."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from subsidy.app import create_app
from subsidy.registry.models import Enterprise, RegistrySnapshot
from subsidy.registry.uscc import ALPHABET
from tests.commands import qinqing, wide_terminal  # noqa: F401 (an autouse fixture)


@pytest.fixture
def demo_csv(tmp_path: Path) -> Path:
    out = tmp_path / "d"
    code, output = qinqing("demo-data", "--firms", 1000, "--out", out, "--format", "csv")
    assert code == 0, output
    return out


def snapshot_ids(engine: Engine) -> list[int | None]:
    with Session(engine) as session:
        query = select(col(RegistrySnapshot.id)).order_by(col(RegistrySnapshot.id))
        return list(session.execute(query).scalars())


def firms_table(engine: Engine) -> list[Enterprise]:
    with Session(engine) as session:
        query = select(Enterprise).order_by(col(Enterprise.uscc))
        return list(session.execute(query).scalars())


def test_demo_data_then_import_then_status(app_env: Engine, tmp_path: Path) -> None:
    out = tmp_path / "d"
    assert qinqing("demo-data", "--firms", 1000, "--out", out)[0] == 0
    code, output = qinqing("import", "enterprises", out / "enterprises.parquet")
    assert code == 0, output
    assert "enterprises: 1,000 rows from enterprises.parquet as snapshot 1" in output
    code, output = qinqing("import", "employees", out / "employees.parquet")
    assert code == 0, output
    assert "as snapshot 2" in output
    code, output = qinqing("registry", "status")
    assert code == 0
    lines = {line.split()[0]: line for line in output.splitlines() if line.strip()}
    assert "1,000" in lines["enterprises"]
    assert "enterprises.parquet" in lines["enterprises"]
    assert "employees.parquet" in lines["employees"]
    assert snapshot_ids(app_env) == [1, 2]


def _break_check_character(path: Path, row: int) -> str:
    """Change the USCC on `row` (header = row 1) to a wrong check character; return it."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    cells = lines[row - 1].split(",")
    right = cells[0][-1]
    cells[0] = cells[0][:-1] + ALPHABET[(ALPHABET.index(right) + 1) % len(ALPHABET)]
    lines[row - 1] = ",".join(cells)
    path.write_text("".join(lines), encoding="utf-8")
    return cells[0]


def test_wrong_check_character_on_row_734_is_refused(app_env: Engine, demo_csv: Path) -> None:
    good = demo_csv / "enterprises.csv"
    assert qinqing("import", "enterprises", good)[0] == 0
    before = (firms_table(app_env), snapshot_ids(app_env))
    bad = demo_csv / "bad.csv"
    bad.write_bytes(good.read_bytes())
    code_value = _break_check_character(bad, 734)
    code, output = qinqing("import", "enterprises", bad)
    assert code == 1
    assert f"bad.csv, row 734, column uscc: '{code_value}' has a wrong check character" in output
    assert "nothing was imported" in output
    assert (firms_table(app_env), snapshot_ids(app_env)) == before


def test_many_problems_show_fifty_and_write_all(
    app_env: Engine, demo_csv: Path, tmp_path: Path
) -> None:
    path = demo_csv / "enterprises.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    for row in rows[:120]:
        row["size"] = "=1+1"
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    errors = tmp_path / "errors.csv"
    code, output = qinqing("import", "enterprises", path, "--errors", errors)
    assert code == 1
    assert output.count("column size:") == 50
    assert "… and 70 more" in output
    written = list(csv.DictReader(errors.open(encoding="utf-8-sig")))
    assert len(written) == 120
    assert [r["row"] for r in written[:3]] == ["2", "3", "4"]
    assert written[0]["value"] == "'=1+1"  # text, never a formula in a spreadsheet
    assert snapshot_ids(app_env) == []


def test_unreadable_file_exits_1_with_its_name(app_env: Engine, tmp_path: Path) -> None:
    path = tmp_path / "firms.json"
    path.write_text("{}")
    code, output = qinqing("import", "enterprises", path)
    assert code == 1
    assert "firms.json: unsupported file type '.json'" in output


def test_an_unmigrated_database_is_named_not_crashed_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from subsidy import db
    from subsidy.settings import get_settings

    monkeypatch.setenv("QINQING_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    try:
        code, output = qinqing("registry", "status")
    finally:
        get_settings.cache_clear()
        db.get_engine.cache_clear()
    assert code == 1
    assert "schema revision (none)" in output
    assert "run `qinqing db upgrade`" in output


def test_demo_runs_end_to_end(app_env: Engine, tmp_path: Path) -> None:
    code, output = qinqing("demo", "--firms", 300, "--data", tmp_path / "demo", "--no-serve")
    assert code == 0, output
    assert "generated 300 firms" in output
    assert "西湖区" in output
    assert len(firms_table(app_env)) == 300
    assert re.search(r"[1-9]\d* one-click redemptions by the first \d+ firms", output), output
    links = dict(re.findall(r"sign in as (\w+(?: \(a second one\))?): (http://\S+)", output))
    assert sorted(links) == [
        "auditor",
        "enterprise",
        "finance",
        "officer",
        "officer (a second one)",
    ]
    for link in links.values():  # one-time codes, never a token in a URL
        assert re.fullmatch(r"http://127\.0\.0\.1:8000/sign-in\?code=[\w-]{43}", link), link
    assert "qinqing sign-in link --role ROLE" in output
    with TestClient(create_app()) as portal:
        code = links["officer"].split("code=")[1]
        signed = portal.post("/sign-in", data={"code": code}, follow_redirects=False)
        assert signed.headers["location"] == "/officer/policies"
    assert "QINQING_TODAY=2020-06-30 qinqing serve" in output
    code, output = qinqing("audit", "verify")  # every entry the demo wrote, keyed, checkpointed
    assert code == 0, output


def test_same_seed_same_files(tmp_path: Path) -> None:
    for name in ("a", "b"):
        qinqing("demo-data", "--firms", 50, "--out", tmp_path / name, "--format", "csv")
    for file in ("enterprises.csv", "employees.csv"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()


def test_production_refuses_the_development_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from subsidy.settings import get_settings

    monkeypatch.setenv("QINQING_ENVIRONMENT", "production")
    monkeypatch.delenv("QINQING_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    try:
        code, output = qinqing("registry", "status")
    finally:
        get_settings.cache_clear()
    assert code == 2
    assert "QINQING_SECRET_KEY" in output
