"""The provider's claims mapped to the portal's people, the OpenID settings and the commands
they turn off (no provider needed: the claims are what a verified token would carry)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine
from stdnum.cn import uscc as stdnum_uscc
from typer.testing import CliRunner

from subsidy.auth import Role
from subsidy.cli import app as cli
from subsidy.errors import ConfigurationError
from subsidy.identity.claims import identity_from
from subsidy.identity.errors import IdentityRefused
from subsidy.settings import Settings, get_settings

FIRM = "91330106MA2CFXKN0N"


def settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "oidc_issuer": "https://id.example.gov.cn/realms/zj",
        "oidc_client_id": "qinqing",
        "oidc_role_map": "policy-officers=officer,finance=finance,auditors=auditor",
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]


def test_the_example_uscc_is_valid() -> None:
    assert stdnum_uscc.is_valid(FIRM)


def test_a_mapped_group_gives_its_role_and_unknown_groups_are_ignored() -> None:
    who = identity_from(settings(), {"sub": "li", "name": "Li", "groups": ["staff", "/finance"]})
    assert (who.subject, who.role, who.uscc, who.display_name) == ("li", Role.FINANCE, None, "Li")


def test_groups_of_one_role_give_it_groups_of_two_roles_are_refused() -> None:
    mapped = settings(oidc_role_map="officers=officer,policy-officers=officer,finance=finance")
    assert identity_from(mapped, {"sub": "a", "groups": ["officers", "policy-officers"]}).role is (
        Role.OFFICER
    )
    with pytest.raises(IdentityRefused) as refused:
        identity_from(mapped, {"sub": "a", "groups": ["officers", "finance"]})
    assert refused.value.code == "identity.ambiguous_role"
    assert "finance, officer" in str(refused.value)


def test_a_nested_roles_claim_as_keycloak_writes_it() -> None:
    keycloak = settings(oidc_roles_claim="realm_access.roles")
    claims = {"sub": "k", "realm_access": {"roles": ["offline_access", "auditors"]}}
    assert identity_from(keycloak, claims).role is Role.AUDITOR


def test_a_space_separated_roles_claim() -> None:
    assert identity_from(settings(), {"sub": "s", "groups": "staff auditors"}).role is Role.AUDITOR


def test_no_mapped_group_is_refused_naming_the_claim_and_groups() -> None:
    with pytest.raises(IdentityRefused) as refused:
        identity_from(settings(), {"sub": "n", "groups": ["staff"]})
    assert refused.value.code == "identity.no_role"
    assert "groups: staff" in str(refused.value)


def test_a_firm_is_known_by_its_uscc_claim() -> None:
    who = identity_from(settings(oidc_uscc_claim="legal_uscc"), {"sub": "f", "legal_uscc": FIRM})
    assert (who.role, who.uscc) == (Role.ENTERPRISE, FIRM)
    assert who.principal.uscc == FIRM


@pytest.mark.parametrize("bad", ["91330106MA2CFXKN0C", "91330106ma2cfxkn0n", "123"])
def test_an_invalid_uscc_is_refused(bad: str) -> None:
    with pytest.raises(IdentityRefused) as refused:
        identity_from(settings(), {"sub": "f", "uscc": bad})
    assert refused.value.code == "identity.invalid_uscc"


def test_a_firm_user_in_a_staff_group_is_refused() -> None:
    with pytest.raises(IdentityRefused) as refused:
        identity_from(settings(), {"sub": "f", "uscc": FIRM, "groups": ["finance"]})
    assert refused.value.code == "identity.ambiguous_role"


def test_no_subject_or_one_too_long_is_refused() -> None:
    with pytest.raises(IdentityRefused, match="sub"):
        identity_from(settings(), {"groups": ["finance"]})
    with pytest.raises(IdentityRefused, match="longer than 200"):
        identity_from(settings(), {"sub": "x" * 201, "groups": ["finance"]})
    assert identity_from(settings(), {"sub": "x" * 200, "groups": ["finance"]}).subject


@pytest.mark.parametrize(
    ("role_map", "said"),
    [
        ("officers=boss", "GROUP=ROLE"),
        ("firms=enterprise", "GROUP=ROLE"),  # a firm is known by its USCC, never by a group
        ("officers", "GROUP=ROLE"),
        ("a=officer,a=finance", "two roles"),
    ],
)
def test_a_role_map_that_cannot_be_read_names_the_variable(role_map: str, said: str) -> None:
    with pytest.raises(ConfigurationError, match=f"QINQING_OIDC_ROLE_MAP: .*{said}"):
        settings(oidc_role_map=role_map)


def test_an_issuer_needs_a_client_id_and_the_openid_scope() -> None:
    with pytest.raises(ConfigurationError, match="QINQING_OIDC_CLIENT_ID"):
        settings(oidc_client_id="")
    with pytest.raises(ConfigurationError, match="QINQING_OIDC_SCOPES"):
        settings(oidc_scopes="profile")


def test_local_sign_in_only_in_development_once_a_provider_is_configured() -> None:
    secret = "s" * 40
    assert settings().local_sign_in
    assert not settings(environment="test", secret_key=secret).local_sign_in
    assert Settings(environment="test", secret_key=secret).local_sign_in  # no provider: kept


def test_the_client_secret_never_shows() -> None:
    configured = settings(oidc_client_secret="very-secret-value")
    assert "very-secret-value" not in repr(configured)


def test_the_commands_mint_no_local_proof_once_a_provider_is_in_charge(
    app_env: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "QINQING_ENVIRONMENT": "test",
        "QINQING_SECRET_KEY": "k" * 40,
        "QINQING_OIDC_ISSUER": "https://id.example.gov.cn/realms/zj",
        "QINQING_OIDC_CLIENT_ID": "qinqing",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    for args in (
        ["sign-in", "link", "--role", "finance", "--subject", "wang"],
        ["token", "--role", "officer"],
    ):
        refused = CliRunner().invoke(cli, args)
        assert refused.exit_code == 2, refused.output
        said = " ".join(re.sub(r"[│╭╮╰╯─]", " ", refused.output).split())  # rich's box
        assert "accepted only in development once an OpenID provider is configured" in said
    monkeypatch.delenv("QINQING_OIDC_ISSUER")
    get_settings.cache_clear()
    assert CliRunner().invoke(cli, ["token", "--role", "officer"]).exit_code == 0
