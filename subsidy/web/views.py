"""What the pages show, read through the domains' own services: a firm's subsidies with why and
why not, the policy funnel, a draft's starting text, the bar chart by district, the report form
and report jobs.

Reads only; the page handlers (a module per audience) call the services that change anything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlmodel import Session, col

from matching.models import MatchRun, Qualification
from matching.service import published_policies
from policies import repository as policy_repository
from policies.document import PolicyDocument
from policies.explain import ClauseResult, explain, registered_firm
from policies.models import Policy
from policies.plain import column_label, plain_values
from policies.readings import Reading
from policies.service import published_document
from policies.validity import OutOfForce, in_force, out_of_force
from reports import jobs as report_jobs
from reports.errors import BadPeriod, ReportError, UnknownPolicy
from reports.models import JobState, ReportJob
from reports.queries import Period
from subsidy import i18n
from subsidy.i18n import Language
from subsidy.redemption import repository as redemption_repository
from subsidy.redemption.models import Redemption, RedemptionStatus
from subsidy.registry import catalog as catalogs
from subsidy.registry.catalog import Catalog

# --- a firm's subsidies ----------------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    """A value the clause read, in the page's language: `经营状态` and `存续`."""

    label: str
    text: str


@dataclass(frozen=True)
class Clause:
    text: str
    value: Any
    error: str | None
    reads: dict[str, Reading]
    """What the clause read; a personal column only as present or not (`policies.readings`)."""
    label: str | None = None
    """What the clause means, in the page's language, when the document labels its clauses:
    the page then shows it and `values`, the rule text behind a details toggle."""
    values: tuple[Value, ...] = ()

    @classmethod
    def of(cls, found: ClauseResult, language: Language, catalog: Catalog) -> Clause:
        if found.label is None:
            return cls(found.text, found.value, found.error, found.reads)
        values = tuple(
            Value(v.label.get(language), v.text.get(language))
            for v in plain_values(found.reads, catalog)
        )
        label = found.label.get(language)
        return cls(found.text, found.value, found.error, found.reads, label, values)


@dataclass(frozen=True)
class Subsidy:
    policy_id: str
    title: str
    """In the reader's language, as `summary` (None when the document has none)."""
    summary: str | None
    mode: str
    valid_until: dt.date
    as_of: dt.date
    amount: Decimal | None
    clauses: list[Clause]
    error: str | None = None
    redemption: Redemption | None = None
    not_in_force: OutOfForce | None = None
    """Set when the policy is outside its validity window today: it qualifies nobody."""


@dataclass(frozen=True)
class FirmView:
    registered: bool
    qualified: list[Subsidy] = field(default_factory=list)
    others: list[Subsidy] = field(default_factory=list)
    redemptions: list[Redemption] = field(default_factory=list)


def firm_view(session: Session, uscc: str, today: dt.date, language: Language) -> FirmView:
    """Qualified subsidies (the latest match: amount and why) of policies in force today, every
    other published policy with why not (the reference evaluator on the current registry, or its
    validity window), and the firm's redemptions; titles and summaries in `language`."""
    catalog = catalogs.current(session)
    record = registered_firm(session, uscc, catalog)
    if record is None:
        return FirmView(registered=False)
    redemptions = redemption_repository.of_firm(session, uscc)
    redeemed = {r.policy_id: r for r in redemptions}
    rows = session.execute(
        select(Qualification, MatchRun)
        .join(MatchRun, col(MatchRun.id) == col(Qualification.run_id))
        .where(col(Qualification.uscc) == uscc)
        .order_by(col(Qualification.policy_id))
    ).all()
    qualified = []
    for q, run in rows:
        version = policy_repository.version(session, q.policy_id, run.policy_version)
        assert version is not None, "a run names a stored version"
        document = published_document(version)
        if not in_force(document, today):  # matched while in force, expired since
            continue
        why = explain(document, record, run.as_of, catalog)
        qualified.append(
            Subsidy(
                policy_id=q.policy_id,
                title=document.titles.get(language),
                summary=_summary(document, language),
                mode=document.mode,
                valid_until=document.valid_to,
                as_of=run.as_of,
                amount=q.amount,
                clauses=[Clause.of(c, language, catalog) for c in why.clauses],
                redemption=redeemed.get(q.policy_id),
            )
        )
    seen = {s.policy_id for s in qualified}
    last_run = _last_runs(session)
    others = []
    for published in published_policies(session):
        if published.policy_id in seen:
            continue
        as_of = last_run.get(published.policy_id, today)
        why = explain(published.document, record, as_of, catalog)
        not_in_force = out_of_force(published.document, today) or why.not_in_force
        others.append(
            Subsidy(
                policy_id=published.policy_id,
                title=published.document.titles.get(language),
                summary=_summary(published.document, language),
                mode=published.document.mode,
                valid_until=published.document.valid_to,
                as_of=as_of,
                amount=why.amount,
                clauses=[Clause.of(c, language, catalog) for c in why.clauses],
                error=why.error,
                redemption=redeemed.get(published.policy_id),
                not_in_force=not_in_force,
            )
        )
    return FirmView(True, qualified, others, redemptions)


def _summary(document: PolicyDocument, language: Language) -> str | None:
    summaries = document.summaries
    return summaries.get(language) if summaries else None


def _last_runs(session: Session) -> dict[str, dt.date]:
    """Each policy's latest successful match run's as-of date."""
    latest = (
        select(col(MatchRun.policy_id), func.max(col(MatchRun.id)).label("id"))
        .where(col(MatchRun.failure).is_(None))
        .group_by(col(MatchRun.policy_id))
        .subquery()
    )
    rows = session.execute(
        select(col(MatchRun.policy_id), col(MatchRun.as_of)).join(
            latest, col(MatchRun.id) == latest.c.id
        )
    )
    return {str(p): a for p, a in rows}


STEPS = ("redeemed", "approved", "paying", "paid")
_REACHED = {
    RedemptionStatus.HELD: 1,
    RedemptionStatus.APPROVED: 2,
    RedemptionStatus.PAYING: 3,
    RedemptionStatus.PAID: 4,
    RedemptionStatus.RETURNED: 3,
    RedemptionStatus.REVERSED: 1,
}


def steps(redemption: Redemption) -> list[tuple[str, bool]]:
    """The redemption's way to "paid": each step and whether it is reached."""
    reached = _REACHED[RedemptionStatus(redemption.status)]
    return [(step, i < reached) for i, step in enumerate(STEPS)]


# --- the policy funnel -----------------------------------------------------------------------


@dataclass
class Stage:
    firms: int = 0
    amount: Decimal = Decimal("0.00")


@dataclass
class Funnel:
    qualified: Stage = field(default_factory=Stage)
    redeemed: Stage = field(default_factory=Stage)
    approved: Stage = field(default_factory=Stage)
    paid: Stage = field(default_factory=Stage)


_PAST_APPROVAL = {
    RedemptionStatus.APPROVED,
    RedemptionStatus.PAYING,
    RedemptionStatus.PAID,
    RedemptionStatus.RETURNED,
}


def funnels(session: Session) -> dict[str, Funnel]:
    """Per policy: firms qualified in its latest run, then redeemed (not reversed), approved
    (and on), paid; two grouped queries."""
    found: dict[str, Funnel] = {}
    qualified = session.execute(
        select(
            col(Qualification.policy_id), func.count(), func.sum(col(Qualification.amount))
        ).group_by(col(Qualification.policy_id))
    )
    for policy_id, firms, amount in qualified:
        found.setdefault(str(policy_id), Funnel()).qualified = Stage(int(firms), Decimal(amount))
    redeemed = session.execute(
        select(
            col(Redemption.policy_id),
            col(Redemption.status),
            func.count(),
            func.sum(col(Redemption.amount)),
        ).group_by(col(Redemption.policy_id), col(Redemption.status))
    )
    for policy_id, status, firms, amount in redeemed:
        funnel = found.setdefault(str(policy_id), Funnel())
        stages = []
        if status != RedemptionStatus.REVERSED:
            stages.append(funnel.redeemed)
        if status in _PAST_APPROVAL:
            stages.append(funnel.approved)
        if status == RedemptionStatus.PAID:
            stages.append(funnel.paid)
        for stage in stages:
            stage.firms += int(firms)
            stage.amount += Decimal(amount)
    return found


# --- a draft's starting text -----------------------------------------------------------------

BLANK = """\
id: new-policy
title:
  zh: 新政策
  en: New policy
summary:
  zh: 一句话说明谁可以获得多少。
  en: One sentence on who gets how much.
department: 杭州市
basis: "文号"
valid_from: 2020-01-01
valid_to: 2020-12-31
budget: 1000000
mode: one-click
parameters:
  rate: {value: 0.5, basis: "文号 第二条"}
eligibility: "status == 'active' and ui_premium > 0"
amount: "ui_premium * rate"
cap: 100000
tests:
  - name: an active firm qualifies
    enterprise: {status: active, ui_premium: 1000}
    expect: {eligible: true, amount: 500}
"""


class _Dumper(yaml.SafeDumper):
    pass


def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.Node:
    text = format(value.normalize(), "f")
    tag = "int" if value == value.to_integral_value() else "float"
    return dumper.represent_scalar(f"tag:yaml.org,2002:{tag}", text)


_Dumper.add_representer(Decimal, _decimal)


def latest_as_yaml(session: Session, policy_id: str) -> str | None:
    """The policy's latest version as YAML (numbers exact), to start a draft from."""
    policy = policy_repository.get(session, policy_id)
    if policy is None or policy.latest_version == 0:
        return None
    version = policy_repository.version(session, policy_id, policy.latest_version)
    assert version is not None
    data = published_document(version).model_dump(mode="python", exclude_none=True)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


# --- the bar chart ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    firms: int
    amount: Decimal
    width: int
    y: int


BAR_HEIGHT = 22
CHART_WIDTH = 360


def bars(rows: list[dict[str, Any]]) -> list[Bar]:
    """Rows of (district, firms, amount), widest first, scaled to the chart's width."""
    ordered = sorted(rows, key=lambda r: (-Decimal(r["amount"]), str(r["district"])))
    top = max((Decimal(r["amount"]) for r in ordered), default=Decimal(0)) or Decimal(1)
    return [
        Bar(
            label=str(r["district"] or "—"),
            firms=int(r["firms"]),
            amount=Decimal(r["amount"]),
            width=max(1, int(Decimal(r["amount"]) * CHART_WIDTH / top)),
            y=i * (BAR_HEIGHT + 6),
        )
        for i, r in enumerate(ordered)
    ]


# --- report downloads ------------------------------------------------------------------------

Words = tuple[str, dict[str, object]]
"""A message to show: its i18n key and values (the template translates it)."""


@dataclass(frozen=True)
class ReportForm:
    """The report filter as typed, so that a refused form shows it again unchanged."""

    date_from: str = ""
    date_to: str = ""
    policy: str = ""
    """A policy id, or empty for all policies."""

    def date_errors(self) -> dict[str, Words]:
        """Per field, a date that is not YYYY-MM-DD (the service checks the rest)."""
        found: dict[str, Words] = {}
        for name, text in (("from", self.date_from), ("to", self.date_to)):
            if text.strip() and _day(text) is None:
                found[name] = ("reports.error.date", {"value": text})
        return found

    def period(self) -> Period:
        """The period asked for; call after `date_errors` found none."""
        return Period(_day(self.date_from), _day(self.date_to), self.policy.strip() or None)


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


def report_refusal(exc: ReportError, period: Period, language: Language = "zh") -> dict[str, Words]:
    """A refused filter as a message next to the field at fault (`form` when none is named)."""
    if isinstance(exc, BadPeriod):
        values: dict[str, object] = {"start": period.date_from, "end": period.date_to}
        return {exc.field or "from": ("reports.error.period", values)}
    if isinstance(exc, UnknownPolicy):
        return {exc.field or "policy": ("reports.error.policy", {"policy": period.policy_id})}
    return {exc.field or "form": ("refused", {"why": exc.message_in(language)})}


def reportable_policies(session: Session) -> list[Policy]:
    """Every policy ever published (a suspended or closed one may still have paid out)."""
    return [p for p in policy_repository.list_all(session) if p.latest_version > 0]


@dataclass(frozen=True)
class ReportJobView:
    job: ReportJob
    period: Period
    percent: int

    @property
    def running(self) -> bool:
        """Still queued or running: its page keeps polling."""
        return self.job.state in (JobState.QUEUED, JobState.RUNNING)


def report_job(job: ReportJob) -> ReportJobView:
    return ReportJobView(job, report_jobs.period_of(job), int(100 * report_jobs.progress(job)))


def recent_report_jobs(session: Session, limit: int, offset: int = 0) -> list[ReportJobView]:
    return [report_job(job) for job in report_jobs.recent(session, limit, offset)]


def count_report_jobs(session: Session) -> int:
    return report_jobs.count(session)


# --- the editor's list of available data -----------------------------------------------------


@dataclass(frozen=True)
class DataColumn:
    """A column a rule may read, as the editor lists it (in the page's language)."""

    name: str
    """As rules name it; an employee column is read as `e.<name>` in a comprehension."""
    label: str
    kind: str
    """The kind's key (`editor.kind.<kind>` words it)."""
    choices: tuple[str, ...]
    source: str
    department: str
    employee: bool
    personal: bool


def available_data(catalog: Catalog, language: Language) -> list[DataColumn]:
    """Every column of the catalog in force: the enterprise registry, the firm sources, the
    employee registry, the person sources; each with its label, kind, source and department
    (a built-in registry's from the portal's words)."""
    declared = {c.name: s for s in catalog.sources for c in s.columns}
    found = []
    for employee, columns in ((False, catalog.firm_columns), (True, catalog.employee_columns)):
        for column in columns:
            source = declared.get(column.name)
            if source is None:
                registry = "employees" if employee else "enterprises"
                source_name = i18n.text(language, f"editor.data.source.{registry}")
                department = i18n.text(language, f"editor.data.department.{registry}")
            else:
                source_name, department = source.name, source.department
            found.append(
                DataColumn(
                    name=column.name,
                    label=column_label(column.name, catalog).get(language),
                    kind=str(column.kind),
                    choices=column.choices,
                    source=source_name,
                    department=department,
                    employee=employee,
                    personal=column.personal,
                )
            )
    return found
