"""States, banks and system actors have words in both languages (`terms.po`), found by walking
the code: a new state, a new bank code or a new `system:` actor without words fails here, not on a
user's screen. `terms.po` owns them: no other catalog holds a state, bank or actor key."""

from __future__ import annotations

import enum
import importlib
import pkgutil
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from payouts.banks import BANKS, bank_of
from payouts.gateways import ItemStatus
from payouts.models import BatchState, ExceptionKind, ItemState
from policies.models import PolicyState, RequestStatus
from reports.models import JobState
from subsidy import i18n
from subsidy.actors import SYSTEM_ACTORS
from subsidy.auth import Role
from subsidy.notifications.models import Undelivered
from subsidy.redemption.models import RedemptionStatus

STATES: dict[str, type[enum.StrEnum]] = {
    "redemption": RedemptionStatus,
    "policy": PolicyState,
    "request": RequestStatus,
    "batch": BatchState,
    "item": ItemState,
    "bank_result": ItemStatus,
    "exception": ExceptionKind,
    "report_job": JobState,
    "undelivered": Undelivered,
}
"""The kinds templates name (`{{ r.status | state('redemption') }}`) and the enum of each."""

NOT_STATES = {
    "subsidy.auth.Role",  # role.<value>, checked below
    "payouts.models.RunState",  # a run is shown by its phase (runs.phase.* in finance.po)
    "policies.readings.Shape",  # how a clause's reading is formatted, never shown as a word
    "subsidy.registry.catalog.SourceKey",  # a declaration's key column, shown as its name
    "subsidy.ledger.models.Account",  # ledger accounts: no page shows them by name
    "subsidy.notifications.models.Kind",  # which notice, not a state
    "subsidy.registry.schema.Kind",  # a registry column's kind
    "policies.models.DraftFormat",  # yaml / json
    "policies.models.PolicyAction",  # action.<value> in portal.po
    "reports._sheets.Kind",  # a workbook column's kind
    "reports.cli.WorkbookLanguage",  # --lang zh / en: a language code, not a state
}
"""Enums that are not states, each with why; a new enum must be put in one list or the other."""

ROOTS = ("subsidy", "policies", "matching", "payouts", "reports")
SOURCE = Path(__file__).parents[2]
SYSTEM_ACTOR = re.compile(r"""["'](system:[a-z0-9][a-z0-9-]*)["']""")


def _project_enums() -> dict[str, type[enum.StrEnum]]:
    found: dict[str, type[enum.StrEnum]] = {}
    for root in ROOTS:
        package = importlib.import_module(root)
        for info in pkgutil.walk_packages(package.__path__, f"{root}."):
            if info.name.startswith("subsidy.migrations"):  # Alembic's env runs on import
                continue
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                if (
                    isinstance(value, type)
                    and issubclass(value, enum.StrEnum)
                    and value.__module__ == module.__name__
                ):
                    found[f"{module.__name__}.{name}"] = value
    return found


def test_every_enum_of_the_code_is_a_state_with_words_or_said_not_to_be() -> None:
    found = _project_enums()
    states = {f"{e.__module__}.{e.__qualname__}" for e in STATES.values()}
    unclassified = sorted(set(found) - states - NOT_STATES)
    assert not unclassified, f"add to STATES (with words in terms.po) or NOT_STATES: {unclassified}"
    assert not (NOT_STATES - set(found)), "NOT_STATES names an enum that is gone"


@pytest.mark.parametrize("language", i18n.LANGUAGES)
@pytest.mark.parametrize("kind", STATES)
def test_every_value_of_every_state_has_words(kind: str, language: i18n.Language) -> None:
    for value in STATES[kind]:
        key = f"state.{kind}.{value}"
        assert i18n.has(language, key), f"{language}: {key}"
        assert i18n.state(language, kind, value) == i18n.text(language, key)


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_bank_code_payouts_route_to_has_a_name(language: i18n.Language) -> None:
    codes = {bank_of(f"{digit}2345678") for digit in "0123456789"} | {bank_of("X1")} | set(BANKS)
    for code in codes:
        assert i18n.has(language, f"bank.{code}"), f"{language}: bank.{code}"
        assert i18n.bank(language, code) != code
    assert i18n.bank("zh", "ZJRCU") == "浙江农信"
    assert i18n.bank("en", "ICBC") == "Industrial and Commercial Bank of China"
    assert i18n.bank("zh", "NEWBANK") == "NEWBANK"  # a code without words shows itself


def test_every_system_actor_in_the_code_is_listed() -> None:
    used = {
        name
        for root in ROOTS
        for path in (SOURCE / root).rglob("*.py")
        for name in SYSTEM_ACTOR.findall(path.read_text(encoding="utf-8"))
    }
    assert used, "the pattern still finds the system actors"
    assert used <= set(SYSTEM_ACTORS), sorted(used - set(SYSTEM_ACTORS))


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_system_actor_and_role_has_words(language: i18n.Language) -> None:
    for name in SYSTEM_ACTORS:
        key = "actor.system." + name.removeprefix("system:")
        assert i18n.has(language, key), f"{language}: {key}"
        assert i18n.actor(language, name) == i18n.text(language, key)
    for role in Role:
        assert i18n.has(language, f"role.{role}"), f"{language}: role.{role}"


def test_actors_read_as_people() -> None:
    assert i18n.actor("zh", "system:automatic-grant") == "系统（自动发放）"
    assert i18n.actor("en", "system:automatic-grant") == "System (automatic grant)"
    assert i18n.actor("zh", "officer:li.wei") == "政策专员 li.wei"
    assert i18n.actor("en", "finance:wang.fang") == "Finance wang.fang"
    assert i18n.actor("zh", "li.wei") == "li.wei"  # no role recorded: as it is
    assert i18n.actor("zh", "system:unheard-of") == "system:unheard-of"
    assert i18n.actor("zh", "robot:x") == "robot:x"


TERMS = re.compile(r"^(state|status|bank|actor|role|column|value)\.|^reports\.state\.")
"""Term keys; `column.<name>` and `value.<column>.<choice>` are the registry columns and their
values as a firm reads them (`policies.plain`)."""


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_terms_po_owns_every_state_bank_actor_and_role(language: i18n.Language) -> None:
    folder = i18n.LOCALE / language / "LC_MESSAGES"
    for name in i18n.catalog_files(language):
        with (folder / name).open("rb") as po:
            keys = {str(m.id) for m in read_po(po, locale=language) if m.id}
        strays = sorted(k for k in keys if TERMS.match(k))
        if name == "terms.po":
            assert not (set(strays) ^ keys), "terms.po holds terms only"
        else:
            assert not strays, f"{language}/{name} holds terms: {strays}"
