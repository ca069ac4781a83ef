"""HTTP: what a firm qualifies for, and why."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlmodel import col

from matching.models import MatchRun, Qualification
from matching.schemas import ClauseOut, QualificationOut
from policies import repository as policy_repository
from policies.document import PolicyDocument
from policies.explain import explain, registered_firm
from policies.schemas import WordsOut
from policies.service import published_document
from policies.validity import in_force
from subsidy.api.problems import NotFound
from subsidy.api.security import DbSession, allow
from subsidy.auth import Principal, Role
from subsidy.i18n import DEFAULT
from subsidy.registry import catalog as catalogs
from subsidy.registry.catalog import Catalog
from subsidy.settings import get_settings

router = APIRouter(prefix="/api/v1", tags=["qualifications"])


@router.get("/me/qualifications", response_model=list[QualificationOut])
def my_qualifications(
    session: DbSession, me: Annotated[Principal, Depends(allow(Role.ENTERPRISE))]
) -> list[QualificationOut]:
    """The subsidies the calling firm qualifies for, with the amount and why: those of the latest
    match whose policy is in force on the business date (an expired one qualifies nobody)."""
    assert me.uscc is not None  # an enterprise token always names its firm
    catalog = catalogs.current(session)
    record = registered_firm(session, me.uscc, catalog)
    if record is None:
        raise NotFound(code="api.not_found.own_firm")
    rows = session.execute(
        select(Qualification, MatchRun)
        .join(MatchRun, col(MatchRun.id) == col(Qualification.run_id))
        .where(col(Qualification.uscc) == me.uscc)
        .order_by(col(Qualification.policy_id))
    ).all()
    today = get_settings().business_date
    catalog = catalogs.current(session)
    answers = []
    for q, run in rows:
        version = policy_repository.version(session, q.policy_id, run.policy_version)
        assert version is not None, "a run names a stored version"
        document = published_document(version)
        if in_force(document, today):
            answers.append(_answer(q, run, document, record, catalog))
    return answers


def _answer(
    q: Qualification,
    run: MatchRun,
    document: PolicyDocument,
    record: dict[str, Any],
    catalog: Catalog,
) -> QualificationOut:
    why = explain(document, record, run.as_of, catalog)
    return QualificationOut(
        policy_id=q.policy_id,
        policy_version=run.policy_version,
        title=document.titles.get(DEFAULT),
        titles=WordsOut.of(document.titles),
        summary=WordsOut.of(document.summaries) if document.summaries else None,
        amount=q.amount,
        mode=document.mode,
        group=document.group,
        valid_until=document.valid_to,
        matched_as_of=run.as_of,
        explanation=[ClauseOut.of(c, catalog) for c in why.clauses],
    )
