"""Errors carry their answer (issue 17, point 5): every deliberate error declares the HTTP problem
it is, one handler renders them all, and a refusal nobody has mapped yet answers as its parent
does. Before, the redemption and policy routes looked an error's exact type up in a table, so a
new subclass of a refusal reached the client as a 500."""

from __future__ import annotations

import inspect

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from subsidy import errors as the_tree
from subsidy.api import problems
from subsidy.app import create_app
from subsidy.auth import AuthenticationError
from subsidy.errors import QinqingError
from tests.subsidy.test_error_codes import DOMAINS, error_classes

NOVEL = "test.novel"


def _constructible(cls: type[QinqingError]) -> bool:
    """Raised with `code=` alone: the classes whose constructor is the tree's own."""
    parameters = inspect.signature(cls.__init__).parameters
    return "code" in parameters and all(
        p.default is not inspect.Parameter.empty or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        for name, p in parameters.items()
        if name not in ("self", "code")
    )


def _novel(parent: type[QinqingError]) -> QinqingError:
    """An instance of a subclass of `parent` that no route, table or handler has heard of."""
    novel = type(f"Novel{parent.__name__}", (parent,), {"code": NOVEL, "__module__": __name__})
    error: QinqingError = novel(code=NOVEL)
    return error


def _app_raising(error: QinqingError) -> TestClient:
    app = create_app()

    @app.get("/api/v1/test-raise")
    def _raise() -> None:
        raise error

    return TestClient(app, raise_server_exceptions=False)


def _parents() -> list[type[QinqingError]]:
    return [c for c in error_classes() if _constructible(c)]


def test_most_of_the_tree_can_be_subclassed_here() -> None:
    """The walk below covers the domain bases and their leaves (it would cover nothing if the
    constructor check went wrong)."""
    names = {c.__name__ for c in _parents()}
    assert {
        "RedemptionError",
        "AlreadyRedeemed",
        "NotEligible",
        "PolicyError",
        "ActionRequestError",
        "PayoutError",
        "RedemptionStateError",
        "ReportError",
        "JobNotReady",
        "MatchingError",
        "BankError",
        "RegistryError",
        "AuthenticationError",
    } <= names


@pytest.mark.parametrize("parent", _parents(), ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_an_unmapped_subclass_answers_as_its_parent(
    parent: type[QinqingError], app_env: object
) -> None:
    error = _novel(parent)
    with _app_raising(error) as client:
        response = client.get("/api/v1/test-raise", headers={"Accept-Language": "en"})
    assert response.status_code == parent.status
    assert response.status_code != 500 or parent.status == 500
    assert response.headers["content-type"].startswith(problems.MEDIA_TYPE)
    body = response.json()
    assert body["type"] == problems.TYPE_PREFIX + parent.slug
    assert body["title"] == parent.title
    assert body["code"] == NOVEL


def test_no_refusal_answers_500_but_broken_settings() -> None:
    """A 5xx says the service is at fault: only its configuration and an unreachable bank."""
    at_fault = {c.__name__ for c in error_classes() if c.status >= 500}
    assert at_fault <= {
        "ConfigurationError",
        "BankError",
        "TransientBankError",
        "OutcomeUnknown",
        "InstructionConflict",
        "InstructionUnfit",
        "MailRelayError",
        "Overloaded",
    }


def test_the_domain_refusals_declare_their_own_problem() -> None:
    """Each error a route raises on purpose says what it is: no leaf of a domain answers with the
    generic `bad-request` of the tree's root."""
    generic = {
        c.__qualname__
        for c in error_classes()
        if c.slug == QinqingError.slug and not c.__subclasses__() and c is not QinqingError
    }
    # Raised by commands only (a batch left open when the workers did not settle in time).
    assert generic == {"BatchesLeftOpen"}


def test_the_tree_is_drawn_in_one_docstring() -> None:
    """Every branch under the root appears in `subsidy/errors.py`'s drawing."""
    error_classes()  # every domain imported
    drawing = the_tree.__doc__ or ""
    branches = {
        c.__name__ for c in QinqingError.__subclasses__() if c.__module__.split(".")[0] in DOMAINS
    }
    assert {b for b in branches if f"── {b} " not in drawing} == set()


def test_an_answer_carries_the_errors_extra_members_and_headers(app_env: object) -> None:
    with _app_raising(AuthenticationError(code="auth.missing")) as client:
        response = client.get("/api/v1/test-raise")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["type"] == problems.TYPE_PREFIX + "unauthenticated"


def test_a_bare_app_with_the_handler_renders_a_domain_refusal() -> None:
    """The handler needs nothing of the assembly (a router tested alone gets the same answers)."""
    from subsidy.redemption.errors import NotEligible

    app = FastAPI()
    problems.install(app)

    @app.get("/x")
    def _raise() -> None:
        raise NotEligible(code="redemption.not_registered", uscc="91330100MA27XXXX0X")

    with TestClient(app) as client:
        body = client.get("/x", headers={"Accept-Language": "zh"}).json()
    assert body["status"] == 422
    assert body["type"] == problems.TYPE_PREFIX + "not-eligible"
    assert body["explanation"] == []
    assert body["code"] == "redemption.not_registered"
