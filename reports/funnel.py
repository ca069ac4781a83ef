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
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import polars as pl
from sqlalchemy import Table, func, select
from sqlmodel import Session, col

from matching import explain as explaining
from matching.compiler import evaluate, prepare
from matching.models import MatchRun, Qualification
from matching.service import compile_document
from policies import repository as policy_repository
from policies.models import Policy, PolicyVersion
from policies.service import published_document
from reports import _sheets as sheets
from reports import queries
from reports._sheets import Column, Kind
from reports.errors import UnknownPolicy
from reports.industries import section_name
from reports.queries import FIRM, NOT_REGISTERED, ZERO, district_of, money, section_of
from subsidy.progress import NO_PROGRESS, Progress
from subsidy.redemption.models import PolicyBudget, Redemption, RedemptionStatus
from subsidy.registry.models import RegistrySnapshot
from subsidy.registry.service import snapshot_frame

TITLE = "Qinqing policy funnel"
EXPLAINED = 200
"""Errored firms explained one by one (the reference evaluator takes milliseconds a firm)."""

QUALIFIED: Table = Qualification.__table__  # type: ignore[attr-defined]
REDEEMED: Table = Redemption.__table__  # type: ignore[attr-defined]

STAGE_COLUMNS = (
    Column("Stage"),
    Column("Firms", Kind.INTEGER),
    Column("Amount", Kind.YUAN),
    Column("Firms, of qualified", Kind.PERCENT),
    Column("Amount, of qualified", Kind.PERCENT),
)
_GROUP_TAIL = (
    Column("Qualified firms", Kind.INTEGER),
    Column("Qualified amount", Kind.YUAN),
    Column("Redeemed firms", Kind.INTEGER),
    Column("Redeemed amount", Kind.YUAN),
    Column("Paid firms", Kind.INTEGER),
    Column("Paid amount", Kind.YUAN),
    Column("Redeemed, of qualified", Kind.PERCENT),
    Column("Paid, of redeemed", Kind.PERCENT),
    Column("Evaluation errors", Kind.INTEGER),
)
DISTRICT_COLUMNS = (Column("District"), *_GROUP_TAIL)
SECTION_COLUMNS = (Column("Section"), *_GROUP_TAIL, Column("Industry"))
ERROR_COLUMNS = (
    Column("USCC", width=21),
    Column("Firm", width=36),
    Column("District", width=12),
    Column("Industry", width=9),
    Column("Error (reference evaluator)", width=80),
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
        return Errors(None, None, {}, "The policy has not been matched yet.")
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
        enterprises = snapshot_frame(data_dir, firm_snapshot)
        employees = snapshot_frame(data_dir, staff_snapshot)
    except OSError:
        return Errors(
            run,
            None,
            {},
            f"The run's registry snapshots are not in {data_dir}: only the count of errors "
            "(from the run) is known.",
        )
    document = published_document(version)
    compiled = compile_document(document, run.as_of)
    outcome = evaluate(prepare(enterprises, employees, [compiled]), compiled)
    errored = (
        outcome.filter(pl.col("error"))
        .select("uscc")
        .join(enterprises.select("uscc", "name", "district", "industry"), on="uscc", how="left")
        .sort("uscc")
    )
    messages = {}
    for uscc in errored["uscc"].head(EXPLAINED):
        record = explaining.firm_of(enterprises, employees, uscc)
        messages[uscc] = explaining.explain(document, record, run.as_of).error or ""
    found = errored.height
    note = (
        f"Match run {run.id} (version {run.policy_version}, as of {run.as_of}) evaluated "
        f"{run.firms:,} firms, evaluation errors: {run.evaluation_errors:,}; re-run on its "
        f"snapshots, firms in error: {found:,}."
    )
    if found > EXPLAINED:
        note += f" The first {EXPLAINED} are explained."
    return Errors(run, errored, messages, note)


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
    progress: Progress = NO_PROGRESS,
    now: dt.datetime | None = None,
) -> Funnel:
    queries.begin_snapshot(session)
    check(session, policy_id)
    now = now or dt.datetime.now(dt.UTC)
    funnel = compute(session, policy_id, data_dir, progress)
    progress.stage("writing the workbook")
    stamp = f"{now.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"
    book = sheets.Book(
        sheets.Properties(
            title=TITLE,
            subject=f"Policy {policy_id}: qualified, redeemed, paid",
            creator=by,
            description=(
                f"Funnel of policy {policy_id} ({funnel.policy.title}); generated {stamp} by "
                f"{by}. Qualified: the latest match run; redeemed: redemptions not reversed; "
                "paid: redemptions paid. Amounts in yuan."
            ),
            keywords="qinqing; policy funnel; yuan",
            custom={
                "report": "policy-funnel",
                "policy": policy_id,
                "generated_at": stamp,
                "generated_by": by,
            },
            created=now,
        )
    )
    try:
        _funnel_sheet(book, funnel, by, stamp)
        _errors_sheet(book, funnel.errors)
        book.save(out)
    except BaseException:
        book.discard()
        raise
    return funnel


def _share(part: Any, whole: Any) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else None


def _group_row(group: Group) -> tuple[Any, ...]:
    f, a = group.firms, group.amounts
    return (
        group.key,
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


def _funnel_sheet(book: sheets.Book, funnel: Funnel, by: str, stamp: str) -> None:
    total, policy = funnel.total, funnel.policy
    stage_rows = [
        (
            stage.capitalize(),
            total.firms[stage],
            total.amounts[stage],
            _share(total.firms[stage], total.firms["qualified"]),
            _share(total.amounts[stage], total.amounts["qualified"]),
        )
        for stage in STAGES
    ]
    district_rows = [_group_row(g) for g in funnel.districts]
    section_rows = [(*_group_row(g), section_name(g.key)) for g in funnel.sections]
    group_total = ("Total", *_group_row(total)[1:])
    tables: list[tuple[Sequence[Column], Sequence[Sequence[Any]]]] = [
        (STAGE_COLUMNS, stage_rows),
        (DISTRICT_COLUMNS, [*district_rows, group_total]),
        (SECTION_COLUMNS, [*section_rows, (*group_total, None)]),
    ]
    sheet = book.sheet("Funnel", sheets.fitted_widths(tables))
    sheet.line(f"{TITLE}: {policy.id}", bold=True)
    sheet.line(policy.title)
    sheet.line(f"Generated {stamp} by {by}")
    budget = f"{funnel.budget:,.2f} yuan" if funnel.budget is not None else "none reserved yet"
    sheet.line(f"State {policy.state}, version {policy.latest_version}; budget {budget}")
    run = funnel.errors.run
    sheet.line(
        f"Latest match run {run.id}: version {run.policy_version}, as of {run.as_of}, "
        f"{run.firms:,} firms evaluated, {run.qualified:,} qualified, "
        f"evaluation errors: {run.evaluation_errors:,}"
        if run is not None
        else "Not matched yet: nothing qualified."
    )
    sheet.line(
        "Qualified: the latest match run. Redeemed: redemptions not reversed. Paid: "
        "redemptions paid. District and industry: the current registry. Amounts in yuan."
    )
    sheet.blank()
    sheet.line("Stages", bold=True)
    sheet.table("Stages", STAGE_COLUMNS, stage_rows)
    sheet.blank()
    sheet.line("By district", bold=True)
    span = sheet.table("FunnelByDistrict", DISTRICT_COLUMNS, district_rows, group_total)
    sheet.blank()
    sheet.line("By industry section (GB/T 4754-2017)", bold=True)
    sheet.table("FunnelBySection", SECTION_COLUMNS, section_rows, (*group_total, None))
    anchor = sheets.column_letter(len(SECTION_COLUMNS) + 2)
    sheet.bar_chart("Firms by district", span, 1, [2, 4, 6], f"{anchor}9", axis="firms")


def _errors_sheet(book: sheets.Book, errors: Errors) -> None:
    sheet = book.sheet("Evaluation errors", [c.width or 12 for c in ERROR_COLUMNS], freeze="A3")
    sheet.line(errors.note)
    if errors.firms is None:
        sheet.table("EvaluationErrors", ERROR_COLUMNS, [])
        return
    rows = (
        (uscc, name, district, industry, errors.messages.get(uscc))
        for uscc, name, district, industry in errors.firms.iter_rows()
    )
    sheet.table(
        "EvaluationErrors",
        ERROR_COLUMNS,
        rows,
        ("Total", f"{errors.firms.height:,} firms", None, None, None),
    )
