"""`qinqing report disbursements ...` and `qinqing report policy ID ...`: workbooks to a file.

The CLI writes in the process, with a progress bar, however large the report (the job queue is
for HTTP requests). The workbook is written next to --out and renamed into place, so --out is
either the whole report or untouched.
"""

from __future__ import annotations

import datetime as dt
import getpass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from reports import disbursements, funnel
from reports.errors import ReportError
from reports.queries import Period
from subsidy.console import make_console, progress_bars, refusals
from subsidy.db import require_current_schema, session_scope
from subsidy.i18n import DEFAULT
from subsidy.settings import get_settings

report_app = typer.Typer(help="Excel reports for finance and policy officers.")
console = make_console()

Out = Annotated[
    Path,
    typer.Option(
        "--out", help="The workbook to write (.xlsx); replaced if it exists.", dir_okay=False
    ),
]


class WorkbookLanguage(StrEnum):
    zh = "zh"
    en = "en"


DEFAULT_LANGUAGE = WorkbookLanguage(DEFAULT)

Lang = Annotated[
    WorkbookLanguage,
    typer.Option("--lang", help="The workbook's language: zh (Chinese, the default) or en."),
]


def _by() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"


def _checked_out(out: Path) -> Path:
    if out.suffix.lower() != ".xlsx":
        raise typer.BadParameter(f"{out} is not an .xlsx file name", param_hint="'--out'")
    if not out.parent.is_dir():
        raise typer.BadParameter(f"folder {out.parent} does not exist", param_hint="'--out'")
    return out


def _aside(out: Path) -> Path:
    return out.with_name(f".{out.name}.part")


def _refused(exc: ReportError, hints: dict[str, str]) -> typer.BadParameter:
    hint = hints.get(exc.field or "")
    return typer.BadParameter(str(exc), param_hint=hint)


@report_app.command("disbursements")
def disbursements_command(
    out: Out,
    date_from: Annotated[
        dt.datetime | None,
        typer.Option("--from", formats=["%Y-%m-%d"], help="First day of the period (YYYY-MM-DD)."),
    ] = None,
    date_to: Annotated[
        dt.datetime | None,
        typer.Option("--to", formats=["%Y-%m-%d"], help="Last day of the period, included."),
    ] = None,
    policy: Annotated[str | None, typer.Option("--policy", help="Only this policy.")] = None,
    lang: Lang = DEFAULT_LANGUAGE,
) -> None:
    """The disbursement workbook: summary and charts, ledger, budgets, exceptions.

    Payout items dated --from..--to (value date, or the day of an unpaid item's last change,
    in Beijing time), of --policy or every policy."""
    out = _checked_out(out)
    period = Period(
        date_from.date() if date_from else None, date_to.date() if date_to else None, policy
    )
    part = _aside(out)
    with refusals():
        require_current_schema()
        try:
            with progress_bars() as progress, session_scope() as session:
                written = disbursements.write(
                    session,
                    period,
                    part,
                    by=_by(),
                    language=lang.value,
                    progress=progress,
                )
        except ReportError as exc:
            part.unlink(missing_ok=True)
            raise _refused(exc, {"from": "'--from' / '--to'", "policy": "'--policy'"}) from exc
        except BaseException:
            part.unlink(missing_ok=True)
            raise
    part.replace(out)
    console.print(
        f"wrote {out}: {written.ledger_rows:,} payout items ({period.described()}); "
        f"sheets {', '.join(written.sheets)}",
        markup=False,
        highlight=False,
    )


@report_app.command("policy")
def policy_command(
    policy_id: Annotated[str, typer.Argument(metavar="POLICY_ID", help="The policy.")],
    out: Out,
    lang: Lang = DEFAULT_LANGUAGE,
) -> None:
    """A policy's funnel: qualified, redeemed, paid by district and industry; errors.

    The evaluation errors are those of the policy's latest match run."""
    out = _checked_out(out)
    part = _aside(out)
    with refusals():
        require_current_schema()
        try:
            with progress_bars() as progress, session_scope() as session:
                found = funnel.write(
                    session,
                    policy_id,
                    part,
                    by=_by(),
                    data_dir=get_settings().data_dir,
                    language=lang.value,
                    progress=progress,
                )
        except ReportError as exc:
            part.unlink(missing_ok=True)
            raise _refused(exc, {"policy": "'POLICY_ID'"}) from exc
        except BaseException:
            part.unlink(missing_ok=True)
            raise
    part.replace(out)
    total = found.total
    console.print(
        f"wrote {out}: {policy_id} qualified {total.firms['qualified']:,}, redeemed "
        f"{total.firms['redeemed']:,}, paid {total.firms['paid']:,} firms",
        markup=False,
        highlight=False,
    )
