"""One actor convention (issue 17): a caller is named by `Principal.actor` (`officer:li.wei`), a
firm acting for itself by `actors.firm`, the system by `actors.SYSTEM_ACTORS`; no module spells an
actor itself, so the trail never says `li.wei` for one act and `officer:li.wei` for another."""

from __future__ import annotations

import re
from pathlib import Path

from subsidy import actors
from subsidy.auth import Principal, Role

ROOT = Path(__file__).parents[2]
BY_HAND = re.compile(
    r"actor\(me\.role, me\.subject\)"  # Principal.actor is this
    r"|by=me\.subject\b"  # the subject alone: the person without the role
    r"|f\"\{me\.role\}:"
    r"|f\"(officer|finance|auditor|enterprise):\{"
)


def test_a_principal_is_named_role_colon_subject() -> None:
    assert Principal(subject="li.wei", role=Role.OFFICER).actor == "officer:li.wei"
    uscc = "91330100MA27XXXX0X"
    assert Principal(subject="x", role=Role.ENTERPRISE, uscc=uscc).actor == "enterprise:x"
    assert actors.firm(uscc) == f"enterprise:{uscc}"
    assert actors.person("officer:li.wei") == actors.person("finance:li.wei") == "li.wei"


def test_no_module_spells_an_actor_by_hand() -> None:
    found = []
    for folder in ("subsidy", "policies", "matching", "payouts", "reports"):
        for path in (ROOT / folder).rglob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if BY_HAND.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []
