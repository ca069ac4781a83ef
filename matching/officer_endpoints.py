"""HTTP for policy officers, the routes that need the matcher: a draft's impact preview over the
current registry, and one firm's explanation under a published policy.

They sit here because `policies` may not import `matching`; the draft and lifecycle routes are
`policies.endpoints`. Both read, so officers and auditors may use them.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from matching import preview as previewing
from matching.schemas import (
    ChangesOut,
    ClauseOut,
    ClauseStopOut,
    DistrictOut,
    ErrorExampleOut,
    ExplanationOut,
    PreviewOut,
    SectionOut,
    ValidityOut,
)
from matching.service import compile_issues
from policies import drafts
from policies import service as policy_service
from policies.endpoints import PREFIX, UnknownVersion
from policies.explain import explain, registered_firm
from subsidy.api.openapi import answers
from subsidy.api.params import INT4_MAX, PolicyId, RowId, Uscc
from subsidy.api.problems import ProblemError
from subsidy.api.ratelimit import rate_limited
from subsidy.api.security import DbSession, allow
from subsidy.auth import Principal, Role
from subsidy.registry import catalog as catalogs
from subsidy.settings import get_settings

router = APIRouter(prefix=PREFIX, tags=["policies"])

Reader = Annotated[Principal, Depends(allow(Role.OFFICER, Role.AUDITOR))]


class UnknownFirm(ProblemError):
    status, slug, title = 404, "unknown-firm", "No such firm in the registry"


def _today() -> dt.date:
    return get_settings().business_date


@router.post(
    "/policy-drafts/{draft_id}/preview",
    response_model=PreviewOut,
    responses=answers(409, 429),
    dependencies=[Depends(rate_limited("preview"))],
)
def preview_draft(
    draft_id: RowId, _: Reader, session: DbSession, as_of: dt.date | None = None
) -> PreviewOut:
    """What the draft's policy would give on the current registry as of `as_of` (default today
    in the users' zone): reach, total against the budget, by district and industry section, the
    firms each eligibility clause stops, evaluation errors, and the change against the published
    version.
    A draft that does not check or compile: 422 with its issues."""
    draft = drafts.get(session, draft_id)
    checked = drafts.checked(draft, [compile_issues], catalog=catalogs.current(session))
    report = previewing.preview(
        session, get_settings().data_dir, checked.document, as_of or _today()
    )
    return PreviewOut(
        draft_id=draft_id,
        policy_id=report.policy_id,
        as_of=report.as_of,
        firms=report.firms,
        qualified=report.qualified,
        total=report.total,
        budget=report.budget,
        errors=report.errors,
        error_examples=[ErrorExampleOut(uscc=u, error=e) for u, e in report.error_examples],
        by_district=[DistrictOut(**row) for row in report.by_district.to_dicts()],
        by_section=[SectionOut(**row) for row in report.by_section.to_dicts()],
        clause_stops=[ClauseStopOut(clause=c, firms=n) for c, n in report.clause_stops],
        changes=ChangesOut.model_validate(report.changes, from_attributes=True)
        if report.changes
        else None,
        validity=ValidityOut.of(checked.document, report.as_of),
    )


@router.get("/policies/{policy_id}/explain/{uscc}", response_model=ExplanationOut)
def explain_firm(
    policy_id: PolicyId,
    uscc: Uscc,
    _: Reader,
    session: DbSession,
    as_of: dt.date | None = None,
    version: Annotated[int | None, Query(ge=1, le=INT4_MAX)] = None,
) -> ExplanationOut:
    """Why firm `uscc` does or does not qualify under the policy's latest version (or `version`)
    on the current registry as of `as_of` (default today in the users' zone): each clause of the
    eligibility with its value and what it read (personal data masked), the amount before and
    after the cap, or the evaluation error."""
    policy, versions = policy_service.history(session, policy_id)
    wanted = version if version is not None else policy.latest_version
    chosen = next((v for v in versions if v.version == wanted), None)
    if chosen is None:
        raise UnknownVersion(fields={"policy_id": policy_id, "version": wanted})
    catalog = catalogs.current(session)
    record = registered_firm(session, uscc, catalog)
    if record is None:
        raise UnknownFirm(fields={"uscc": uscc})
    day = as_of or _today()
    document = policy_service.published_document(chosen)
    result = explain(document, record, day, catalog)
    return ExplanationOut(
        uscc=result.uscc,
        policy_id=policy_id,
        policy_version=chosen.version,
        policy_state=policy.state,
        as_of=day,
        qualifies=result.qualifies,
        amount=result.amount,
        amount_before_cap=result.amount_before_cap,
        cap=result.cap,
        error=result.error,
        validity=ValidityOut.of(document, day),
        clauses=[ClauseOut.of(c, catalogs.current(session)) for c in result.clauses],
    )
