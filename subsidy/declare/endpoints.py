"""HTTP for the registry declaration: declare (officers), read versions and the catalog.

`POST /api/v1/registry/declarations` takes `{"document": "tax.yaml", "text": "<the YAML>"}`:
201 with the new version, 200 when it declares what is in force already (no new version), 422
with every problem (`problems`: field, line, code, message) and nothing written. Officers declare;
officers and auditors read the versions and the catalog (every column a rule may read, with its
labels, type, source and department), which the officer's editor lists.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from subsidy.actors import actor
from subsidy.api.openapi import answers
from subsidy.api.paging import MAX_SIZE, PageNumber, PageSize, Paging, with_total
from subsidy.api.security import DbSession, allow
from subsidy.auth import Principal, Role
from subsidy.declare import service
from subsidy.declare.schemas import (
    CatalogColumnOut,
    CatalogOut,
    DeclarationIn,
    DeclarationOut,
    DeclaredOut,
)

PREFIX = "/api/v1/registry"

Officer = Annotated[Principal, Depends(allow(Role.OFFICER))]
Reader = Annotated[Principal, Depends(allow(Role.OFFICER, Role.AUDITOR))]

router = APIRouter(prefix=PREFIX, tags=["registry"])


@router.post(
    "/declarations",
    response_model=DeclaredOut,
    status_code=201,
    responses={
        200: {"model": DeclaredOut, "description": "Declares what is in force: no new version"},
        **answers(409, 422),
    },
)
def declare(
    body: DeclarationIn, me: Officer, session: DbSession, response: Response
) -> DeclaredOut:
    """Declare the sources `text` names as the next version (201), or nothing when it declares
    what is in force (200); refused (422, nothing written) with every problem: the document's,
    or a column a published policy reads that it would remove or retype."""
    declared = service.declare(session, body.text, body.document, by=actor(me.role, me.subject))
    if not declared.created:
        response.status_code = 200
    return DeclaredOut.of_declared(declared)


@router.get("/declarations", response_model=list[DeclarationOut])
def declarations(
    _: Reader,
    session: DbSession,
    response: Response,
    page: PageNumber = 1,
    size: PageSize = MAX_SIZE,
) -> list[DeclarationOut]:
    """The declaration versions, newest first: who declared which sources, when."""
    paging = Paging(page, size)
    with_total(response, service.count(session))
    found = service.versions(session, offset=paging.offset, limit=paging.size)
    return [DeclarationOut.of(d, c) for d, c in found]


@router.get("/catalog", response_model=CatalogOut)
def catalog(_: Reader, session: DbSession) -> CatalogOut:
    """Every column a rule may read under the declaration in force: the built-in registries'
    (labels from the platform's terms) and the declared sources' (their own labels)."""
    view = service.catalog_view(session)
    return CatalogOut(version=view.version, columns=[CatalogColumnOut.of(c) for c in view.columns])
