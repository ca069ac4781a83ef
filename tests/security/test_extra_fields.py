"""Finding: unknown JSON fields were silently ignored (a misspelt field did nothing, unseen).

Now every JSON request body is a `RequestModel` (extra="forbid"): an unknown field is 422 naming
it. And every string of a request body is bounded in length.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import Engine

from subsidy.api.params import RequestModel
from subsidy.app import create_app
from subsidy.auth import Role
from tests.security.conftest import bearer
from tests.security.test_edge_values import _kind, all_routes


def _request_models() -> list[type[BaseModel]]:
    models = []
    for route in all_routes(create_app()):
        for field in route.dependant.body_params:
            model = _kind(field.field_info.annotation)
            if isinstance(model, type) and issubclass(model, BaseModel):
                models.append(model)
    assert len(models) >= 5
    return models


def test_every_request_body_refuses_unknown_fields_and_bounds_its_strings() -> None:
    for model in _request_models():
        assert issubclass(model, RequestModel), model
        assert model.model_config.get("extra") == "forbid", model
        for name, info in model.model_fields.items():
            if _kind(info.annotation) is str:
                bounds = [m for m in info.metadata if hasattr(m, "max_length")]
                assert bounds, f"{model.__name__}.{name} has no max_length"


def test_an_unknown_field_is_422_naming_it(client: TestClient, app_env: Engine) -> None:
    response = client.post(
        "/api/v1/redemptions/1/reverse",
        json={"reason": "duplicate", "reasno": "typo"},
        headers=bearer(Role.OFFICER),
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"] == [
        {"field": "body.reasno", "message": "Extra inputs are not permitted"}
    ]


def test_a_redemption_with_an_extra_field_is_refused(client: TestClient) -> None:
    response = client.post(
        "/api/v1/redemptions",
        json={"policy_id": "hz-2020-ui-refund", "amount": "1000000"},
        headers={"Idempotency-Key": "k" * 16} | bearer(Role.ENTERPRISE),
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.amount"]
