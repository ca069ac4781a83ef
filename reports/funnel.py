"""The policy funnel: how many firms qualified, redeemed and were paid, by district and industry,
and where the rules could not be evaluated.

Stages, each a count of firms and a sum of yuan by SQL:

* qualified: the policy's qualifications (its latest match run);
* redeemed: its redemptions, except those reversed (whatever their payment state);
* paid: its redemptions whose payment went through (status paid).

District and industry are the firm's on the current registry. Evaluation errors are counted by the
match run; the firms behind them are found again by re-running the run's policy version on the
run's own registry snapshots (their Parquet copies in the data directory), and the first
`EXPLAINED` of them are explained by the reference evaluator.

The workbook is written in the language asked for (Chinese by default; `reports.words`), the
policy by its title in that language.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import polars as pl
from sqlalchemy import Table, func, select
from sqlmodel import Session, col

from matching.compiler import evaluate, prepare
from matching.models import MatchRun, Qualification
from matching.service import compile_document
from policies import explain as explaining
from policies import repository as policy_repository
from policies.models import Policy, PolicyVersion
from policies.service import published_document
from reports import _sheets as sheets
from reports import queries
from reports._sheets import Column, Kind
from reports.disbursements import SECTION_NAME_WIDTH
from reports.errors import UnknownPolicy
from reports.queries import FIRM, NOT_REGISTERED, ZERO, district_of, money, section_of
from reports.words import Words
from subsidy.i18n import DEFAULT, Language
from subsidy.progress import NO_PROGRESS, Progress
from subsidy.redemption.models import PolicyBudget, Redemption, RedemptionStatus
from subsidy.registry.models import RegistrySnapshot
from subsidy.registry.service import frames_of

TITLE = "workbook.funnel.title"
EXPLAINED = 200
"""Errored firms explained one by one (the reference evaluator takes milliseconds a firm)."""

QUALIFIED: Table = Qualification.__table__  # type: ignore[attr-defined]
REDEEMED: Table = Redemption.__table__  # type: ignore[attr-defined]

STAGE_COLUMNS = (
    Column("workbook.col.stage"),
    Column("workbook.col.firms", Kind.INTEGER),
    Column("workbook.col.amount", Kind.YUAN),
    Column("workbook.col.firms_of_qualified", Kind.PERCENT),
    Column("workbook.col.amount_of_qualified", Kind.PERCENT),
)
_GROUP_TAIL = (
    Column("workbook.col.qualified_firms", Kind.INTEGER),
    Column("workbook.col.qualified_amount", Kind.YUAN),
    Column("workbook.col.redeemed_firms", Kind.INTEGER),
    Column("workbook.col.redeemed_amount", Kind.YUAN),
    Column("workbook.col.paid_firms", Kind.INTEGER),
    Column("workbook.col.paid_amount", Kind.YUAN),
    Column("workbook.col.redeemed_of_qualified", Kind.PERCENT),
    Column("workbook.col.paid_of_redeemed", Kind.PERCENT),
    Column("workbook.col.evaluation_errors", Kind.INTEGER),
)
DISTRICT_COLUMNS = (Column("workbook.col.district"), *_GROUP_TAIL)
SECTION_COLUMNS = (
    Column("workbook.col.section"),
    *_GROUP_TAIL,
    Column("workbook.col.industry", width=SECTION_NAME_WIDTH),
)
ERROR_COLUMNS = (
    Column("workbook.col.uscc", width=21),
    Column("workbook.col.firm", width=36),
    Column("workbook.col.district", width=12),
    Column("workbook.col.industry", width=9),
    Column("workbook.col.error", width=80),
)

Grouping = Literal["district", "section", "all"]
STAGES = ("qualified", "redeemed", "paid")


@dataclass
class Group:
    key: str
    firms: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    amounts: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(STAGES, ZERO))
    errors: int | None = None


@dataclass(frozen=True)
class Errors:
    """The firms the latest run could not evaluate, found again on its snapshots."""

    run: MatchRun | None
    firms: pl.DataFrame | None
    """uscc, name, district, industry; None when the run's snapshots are not available."""
    messages: dict[str, str]
    note: str
    """What is known of them: a `workbook.errors.*` key, filled with `values`."""
    values: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Funnel:
    policy: Policy
    budget: Decimal | None
    total: Group
    districts: list[Group]
    sections: list[Group]
    errors: Errors


def _stage(
    session: Session, policy_id: str, stage: str, grouping: Grouping
) -> dict[str, tuple[int, Decimal]]:
    """Firms and yuan of one stage per group: grouped by plain columns in SQL (see
    `queries.summary` on why), rolled up here."""
    if stage == "qualified":
        table, where = QUALIFIED, [QUALIFIED.c.policy_id == policy_id]
    else:
        table = REDEEMED
        where = [REDEEMED.c.policy_id == policy_id]
        where.append(
            REDEEMED.c.status == RedemptionStatus.PAID.value
            if stage == "paid"
            else REDEEMED.c.status != RedemptionStatus.REVERSED.value
        )
    keys: list[Any] = {"district": [FIRM.c.district], "section": [FIRM.c.industry], "all": []}[
        grouping
    ]
    stmt = (
        select(*keys, func.count(), money(table.c.amount))
        .select_from(table.outerjoin(FIRM, FIRM.c.uscc == table.c.uscc))
        .where(*where)
        .group_by(*keys)
    )
    found: dict[str, tuple[int, Decimal]] = {}
    for row in session.execute(stmt):
        if grouping == "district":
            key = district_of(row[0])
        elif grouping == "section":
            key = section_of(row[0])
        else:
            key = ""
        n, amount = found.get(key, (0, ZERO))
        found[key] = (n + int(row[-2]), amount + row[-1])
    return found


def _groups(session: Session, policy_id: str, grouping: Grouping) -> dict[str, Group]:
    groups: dict[str, Group] = {}
    for stage in STAGES:
        for key, (firms, amount) in _stage(session, policy_id, stage, grouping).items():
            group = groups.setdefault(key, Group(key))
            group.firms[stage], group.amounts[stage] = firms, amount
    return groups


def compute(
    session: Session, policy_id: str, data_dir: Path, progress: Progress = NO_PROGRESS
) -> Funnel:
    policy = session.get(Policy, policy_id)
    if policy is None:
        raise UnknownPolicy(field="policy", policy_id=policy_id)
    progress.stage("counting the funnel")
    budget_row = session.get(PolicyBudget, policy_id)
    total = _groups(session, policy_id, "all").get("", Group(""))
    districts = _groups(session, policy_id, "district")
    sections = _groups(session, policy_id, "section")
    progress.stage("finding the evaluation errors")
    errors = _errors(session, policy_id, data_dir)
    if errors.firms is not None:
        total.errors = errors.firms.height
        by_district = _error_counts(errors.firms, "district")
        by_section = _error_counts(errors.firms, "section")
        for key, n in by_district.items():
            districts.setdefault(key, Group(key)).errors = n
        for key, n in by_section.items():
            sections.setdefault(key, Group(key)).errors = n
        for group in [*districts.values(), *sections.values()]:
            group.errors = group.errors or 0
    elif errors.run is not None:
        total.errors = errors.run.evaluation_errors
    return Funnel(
        policy,
        budget_row.budget if budget_row else None,
        total,
        sorted(districts.values(), key=lambda g: (-g.firms["qualified"], g.key)),
        sorted(sections.values(), key=lambda g: g.key),
        errors,
    )


def _error_counts(firms: pl.DataFrame, grouping: Grouping) -> dict[str, int]:
    if grouping == "district":
        key = pl.col("district").fill_null(NOT_REGISTERED)
    else:
        key = pl.col("industry").str.slice(0, 1).fill_null("?")
    counted = firms.group_by(key.alias("key")).len()
    return {str(k): int(n) for k, n in counted.iter_rows()}


def _errors(session: Session, policy_id: str, data_dir: Path) -> Errors:
    run = (
        session.execute(
            select(MatchRun)
            .where(col(MatchRun.policy_id) == policy_id, col(MatchRun.failure).is_(None))
            .order_by(col(MatchRun.id).desc())
        )
        .scalars()
        .first()
    )
    if run is None:
        return Errors(None, None, {}, "workbook.errors.not_matched")
    version = session.execute(
        select(PolicyVersion).where(
            col(PolicyVersion.policy_id) == policy_id,
            col(PolicyVersion.version) == run.policy_version,
        )
    ).scalar_one()
    firm_snapshot = session.get(RegistrySnapshot, run.enterprise_snapshot_id)
    staff_snapshot = session.get(RegistrySnapshot, run.employee_snapshot_id)
    try:
        if firm_snapshot is None or staff_snapshot is None:
            raise FileNotFoundError("snapshot record missing")
        sources = json.loads(run.source_snapshots) if run.source_snapshots else {}
        frames = frames_of(session, data_dir, firm_snapshot, staff_snapshot, sources)
    except OSError:
        return Errors(run, None, {}, "workbook.errors.no_snapshots", {"folder": data_dir})
    enterprises, employees, catalog = frames.enterprises, frames.employees, frames.catalog
    document = published_document(version)
    compiled = compile_document(document, run.as_of, catalog)
    outcome = evaluate(prepare(enterprises, employees, [compiled]), compiled)
    errored = (
        outcome.filter(pl.col("error"))
        .select("uscc")
        .join(enterprises.select("uscc", "name", "district", "industry"), on="uscc", how="left")
        .sort("uscc")
    )
    messages = {}
    for uscc in errored["uscc"].head(EXPLAINED):
        record = explaining.firm_of(enterprises, employees, uscc, catalog)
        messages[uscc] = explaining.explain(document, record, run.as_of, catalog).error or ""
    values = {
        "run": run.id,
        "version": run.policy_version,
        "as_of": run.as_of,
        "firms": f"{run.firms:,}",
        "errors": f"{run.evaluation_errors:,}",
        "found": f"{errored.height:,}",
    }
    return Errors(run, errored, messages, "workbook.errors.found", values)


def check(session: Session, policy_id: str) -> None:
    if policy_repository.get(session, policy_id) is None:
        raise UnknownPolicy(field="policy", policy_id=policy_id)


def write(
    session: Session,
    policy_id: str,
    out: Path,
    *,
    by: str,
    data_dir: Path,
    language: Language = DEFAULT,
    progress: Progress = NO_PROGRESS,
    now: dt.datetime | None = None,
) -> Funnel:
    queries.begin_snapshot(session)
    check(session, policy_id)
    now = now or dt.datetime.now(dt.UTC)
    words = Words(language)
    funnel = compute(session, policy_id, data_dir, progress)
    progress.stage("writing the workbook")
    title = funnel.policy.title_in(language)
    book = sheets.Book(
        sheets.Properties(
            title=words(TITLE),
            subject=words("workbook.funnel.subject", policy=policy_id),
            creator=by,
            description=words(
                "workbook.funnel.description",
                policy=policy_id,
                title=title,
                stamp=words.stamp(now),
                by=by,
            ),
            keywords=words("workbook.funnel.keywords"),
            custom={
                "report": "policy-funnel",
                "language": language,
                "policy": policy_id,
                "generated_at": f"{now.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC",
                "generated_by": by,
            },
            created=now,
        ),
        sheets.Page(f"{words(TITLE)} · {_period(words, funnel)}", words("workbook.none")),
    )
    try:
        _funnel_sheet(book, words, funnel, by, now)
        _errors_sheet(book, words, funnel.errors)
        book.save(out)
    except BaseException:
        book.discard()
        raise
    return funnel


def _period(words: Words, funnel: Funnel) -> str:
    """What a funnel covers, for its pages' header: the policy, and the as-of date it was
    matched on."""
    policy, run = funnel.policy, funnel.errors.run
    title = policy.title_in(words.language)
    if run is None:
        return f"{policy.id} {title}"
    return words("workbook.funnel.page", policy=policy.id, title=title, as_of=run.as_of)


def _share(part: Any, whole: Any) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else None


def _group_row(group: Group, key: str | None = None) -> tuple[Any, ...]:
    f, a = group.firms, group.amounts
    return (
        group.key if key is None else key,
        f["qualified"],
        a["qualified"],
        f["redeemed"],
        a["redeemed"],
        f["paid"],
        a["paid"],
        _share(f["redeemed"], f["qualified"]),
        _share(f["paid"], f["redeemed"]),
        group.errors,
    )


HEADING_ROWS = 4
"""The funnel sheet's title, policy, when and by whom, state: frozen, and on every page."""


def _funnel_sheet(
    book: sheets.Book, words: Words, funnel: Funnel, by: str, now: dt.datetime
) -> None:
    total, policy = funnel.total, funnel.policy
    stage_rows = [
        (
            words(f"workbook.stage.{stage}"),
            total.firms[stage],
            total.amounts[stage],
            _share(total.firms[stage], total.firms["qualified"]),
            _share(total.amounts[stage], total.amounts["qualified"]),
        )
        for stage in STAGES
    ]
    district_rows = [_group_row(g, words.district(g.key)) for g in funnel.districts]
    section_rows = [(*_group_row(g), words.section(g.key)) for g in funnel.sections]
    group_total = (words("workbook.total"), *_group_row(total)[1:])
    stage_columns = words.columns(STAGE_COLUMNS)
    district_columns = words.columns(DISTRICT_COLUMNS)
    section_columns = words.columns(SECTION_COLUMNS)
    tables: list[tuple[Sequence[Column], Sequence[Sequence[Any]]]] = [
        (stage_columns, stage_rows),
        (district_columns, [*district_rows, group_total]),
        (section_columns, [*section_rows, (*group_total, None)]),
    ]
    sheet = book.sheet(
        words("workbook.sheet.funnel"),
        sheets.fitted_widths(tables),
        freeze=f"A{HEADING_ROWS + 1}",
        repeat=f"1:{HEADING_ROWS}",
    )
    sheet.line(words("workbook.heading", report=words(TITLE), subject=policy.id), bold=True)
    sheet.line(policy.title_in(words.language))
    sheet.line(words.generated(now, by))
    budget = (
        words("workbook.funnel.budget", amount=f"{funnel.budget:,.2f}")
        if funnel.budget is not None
        else words("workbook.funnel.no_budget")
    )
    sheet.line(
        words(
            "workbook.funnel.state",
            state=words.state("policy", policy.state),
            version=policy.latest_version,
            budget=budget,
        )
    )
    run = funnel.errors.run
    sheet.line(
        words(
            "workbook.funnel.run",
            run=run.id,
            version=run.policy_version,
            as_of=run.as_of,
            firms=f"{run.firms:,}",
            qualified=f"{run.qualified:,}",
            errors=f"{run.evaluation_errors:,}",
        )
        if run is not None
        else words("workbook.funnel.not_matched")
    )
    sheet.line(words("workbook.funnel.note_stages"))
    sheet.line(words("workbook.funnel.note_groups"))
    sheet.blank()
    sheet.line(words("workbook.stages"), bold=True)
    sheet.table("Stages", stage_columns, stage_rows)
    sheet.blank()
    sheet.line(words("workbook.by_district"), bold=True)
    span = sheet.table("FunnelByDistrict", district_columns, district_rows, group_total)
    sheet.blank()
    sheet.line(words("workbook.by_section"), bold=True)
    sheet.table("FunnelBySection", section_columns, section_rows, (*group_total, None))
    firms = words("workbook.axis.firms")
    sheet.bar_chart(
        words("workbook.chart.firms_by_district"), span, 1, [2, 4, 6], firms, money=False
    )
    sheet.charts_page()


def _errors_sheet(book: sheets.Book, words: Words, errors: Errors) -> None:
    sheet = book.sheet(
        words("workbook.sheet.errors"),
        [c.width or 12 for c in ERROR_COLUMNS],
        freeze="A3",
        repeat="1:2",
    )
    note = words(errors.note, **errors.values)
    if errors.firms is not None and errors.firms.height > EXPLAINED:
        note += " " + words("workbook.errors.explained_first", n=EXPLAINED)
    sheet.line(note)
    columns = words.columns(ERROR_COLUMNS)
    if errors.firms is None:
        sheet.table("EvaluationErrors", columns, [])
        return
    rows = (
        (uscc, name, district, industry, errors.messages.get(uscc))
        for uscc, name, district, industry in errors.firms.iter_rows()
    )
    sheet.table(
        "EvaluationErrors",
        columns,
        rows,
        (words("workbook.total"), words.count("workbook.firms", errors.firms.height), None, None,
         None),
    )  # fmt: skip
