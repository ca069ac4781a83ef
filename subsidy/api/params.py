"""What a request may carry, checked at the edge: ids within their column, strings without control
characters, request bodies without unknown fields.

An id beyond what its column holds (INTEGER: int4) cannot exist and would make the database raise;
a NUL cannot be stored in PostgreSQL text. Both are refused as 422 naming the field, never a 500.
`RequestModel` is the base of every JSON request body; `plain_request` is an app-wide dependency
that checks the path, query and form fields of every route (API and portal) in one place.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, field_validator

INT4_MAX = 2**31 - 1
"""The largest id an INTEGER column holds (every table's id is one)."""

RowId = Annotated[int, Path(ge=1, le=INT4_MAX, description="An id: 1 to 2,147,483,647.")]
"""A row's id in a path."""
Version = Annotated[int, Path(ge=1, le=INT4_MAX, description="A version: 1, 2, ...")]
After = Annotated[
    int | None, Query(ge=0, le=INT4_MAX, description="Page on: the last id already seen.")
]
Before = Annotated[
    int | None, Query(ge=1, le=INT4_MAX, description="Page back: the last id already seen.")
]
PolicyId = Annotated[str, Path(min_length=1, max_length=64)]
Uscc = Annotated[str, Path(min_length=1, max_length=18)]
PolicyIdQuery = Annotated[str | None, Query(min_length=1, max_length=64)]
UsccQuery = Annotated[str | None, Query(min_length=1, max_length=18)]

_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
"""In an id, a path or a query: no control character means anything there."""
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""In free text (a reason, a note, a document): tabs and line breaks are text; the rest is not."""
CONTROL_MESSAGE = "must not contain control characters (such as NUL)"


def control_in_text(value: str) -> bool:
    return _CONTROL_IN_TEXT.search(value) is not None


class RequestModel(BaseModel):
    """A JSON request body: unknown fields refused (a misspelt field is not silently ignored),
    strings without control characters other than tabs and line breaks."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        if isinstance(value, str) and control_in_text(value):
            raise ValueError(CONTROL_MESSAGE)
        return value


async def plain_request(request: Request) -> None:
    """Refuse a control character in any path parameter, query parameter or form field."""
    errors: list[dict[str, Any]] = []
    for name, value in request.path_params.items():
        if isinstance(value, str) and _ANY_CONTROL.search(value):
            errors.append(_error("path", name))
    for name, value in request.query_params.multi_items():
        if _ANY_CONTROL.search(name) or _ANY_CONTROL.search(value):
            errors.append(_error("query", name))
    if request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        for name, field in (await request.form()).multi_items():
            if isinstance(field, str) and (control_in_text(field) or _ANY_CONTROL.search(name)):
                errors.append(_error("body", name))
    if errors:
        raise RequestValidationError(errors)


def _error(where: str, name: str) -> dict[str, Any]:
    shown = _ANY_CONTROL.sub("?", name)
    return {"type": "value_error", "loc": (where, shown), "msg": CONTROL_MESSAGE, "input": None}
