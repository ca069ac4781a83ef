"""Commands for finance and officers, registered by the CLI root (`subsidy/cli.py`):

    qinqing ledger check
    qinqing payouts reconcile FILE [--by NAME]
    qinqing payouts approve ID --by NAME
    qinqing payouts reverse ID --reason TEXT --by NAME
    qinqing payouts flag USCC --reason TEXT --by NAME      /  unflag USCC --by NAME
    qinqing payouts correct-account ID ACCOUNT --by NAME  /  release ID --by NAME

`--by` names the person; the command records them as `officer:NAME` or `finance:NAME`, as the
API records its callers, so maker-checker holds across both. Each command is one transaction.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from payouts import ledger_check, reconcile, retry, reversal
from subsidy.actors import actor
from subsidy.auth import Role
from subsidy.console import make_console, refusals
from subsidy.db import require_current_schema, session_scope
from subsidy.masking import mask
from subsidy.redemption import approval

console = make_console()

RedemptionId = Annotated[int, typer.Argument(metavar="ID", help="The redemption's id.")]
By = Annotated[str, typer.Option("--by", help="Who acts (recorded; maker-checker compares it).")]
Reason = Annotated[str, typer.Option("--reason", help="Why (recorded).")]


def ledger_check_command() -> None:
    """Prove the ledger and the operational tables add up; name every imbalance (exit status 1)."""
    with refusals():
        require_current_schema()
        with session_scope() as session:
            report = ledger_check.check(session)
    if report.balanced:
        console.print(
            f"ledger balanced: {report.entries:,} entries, {report.policies:,} policies, "
            f"{report.firms:,} firms with a receivable"
        )
        return
    err = make_console(stderr=True)
    err.print(f"{len(report.imbalances)} imbalances:", style="red")
    for imbalance in report.imbalances:
        err.print(str(imbalance), markup=False, highlight=False, soft_wrap=True)
    if report.unshown_redemptions:
        err.print(f"... and {report.unshown_redemptions:,} more redemptions out of place")
    raise typer.Exit(1)


def reconcile_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="The bank statement: CSV or XLSX, or the bank's camt.053 or MT940.",
            exists=True,
            dir_okay=False,
        ),
    ],
    by: Annotated[str, typer.Option("--by", help="Who reconciles (recorded).")] = (
        getpass.getuser()
    ),
) -> None:
    """Match the statement's lines to payout items; record what differs for finance."""
    with refusals():
        require_current_schema()
        with session_scope() as session:
            done = reconcile.reconcile(session, file, by=actor(Role.FINANCE, by))
    if done.repeated:
        console.print(f"{escape(file.name)} was reconciled before: nothing recorded")
        return
    console.print(
        f"{escape(file.name)}: {done.lines:,} lines, {done.matched:,} matched to payout items"
    )
    if done.already_seen:
        console.print(
            f"{done.already_seen:,} of them repeat lines of earlier statements (the same bank "
            "transactions: nothing recorded for them)"
        )
    if not done.exceptions:
        console.print("[green]no exceptions[/green]")
        return
    total = sum(done.exceptions.values())
    console.print(f"[yellow]{total:,} exceptions recorded for finance:[/yellow]")
    for kind, count in done.exceptions.items():
        console.print(f"  {kind}: {count:,}")


def approve_command(redemption_id: RedemptionId, by: By) -> None:
    """Approve a held redemption (an officer other than its maker)."""
    with refusals():
        require_current_schema()
        with session_scope() as session:
            done = approval.approve(session, redemption_id, by=actor(Role.OFFICER, by))
    console.print(f"redemption {done.id} approved: {done.amount:,.2f} yuan payable")


def reverse_command(redemption_id: RedemptionId, reason: Reason, by: By) -> None:
    """Reverse a redemption: its budget is released; money already paid is clawed back."""
    with refusals():
        require_current_schema()
        with session_scope() as session:
            done = reversal.reverse(session, redemption_id, reason, by=actor(Role.OFFICER, by))
    console.print(
        f"redemption {redemption_id} reversed: {done.amount:,.2f} yuan {done.source} -> "
        f"{done.target}" + (" (the firm owes it back)" if done.clawback else "")
    )


def flag_command(
    uscc: Annotated[str, typer.Argument(metavar="USCC")], reason: Reason, by: By
) -> None:
    """Flag a firm for review: its new redemptions are held for approval."""
    with refusals():
        require_current_schema()
        with session_scope() as session:
            approval.flag(session, uscc, reason, by=actor(Role.OFFICER, by))
    console.print(f"{uscc} flagged: its new redemptions are held for approval")


def unflag_command(uscc: Annotated[str, typer.Argument(metavar="USCC")], by: By) -> None:
    """Lift a firm's flag (redemptions already held stay held until approved)."""
    with refusals():
        require_current_schema()
        with session_scope() as session:
            approval.unflag(session, uscc, by=actor(Role.OFFICER, by))
    console.print(f"{uscc} no longer flagged")


def correct_account_command(
    redemption_id: RedemptionId,
    account: Annotated[str, typer.Argument(help="The bank account to pay next.")],
    by: By,
) -> None:
    """Correct the bank account of a returned redemption (another person releases it)."""
    with refusals():
        require_current_schema()
        with session_scope() as session:
            retry.correct_account(session, redemption_id, account, by=actor(Role.FINANCE, by))
    console.print(f"redemption {redemption_id}: account corrected to {mask(account)}")


def release_command(redemption_id: RedemptionId, by: By) -> None:
    """Release a corrected, returned redemption for the next payout run."""
    with refusals():
        require_current_schema()
        with session_scope() as session:
            retry.release(session, redemption_id, by=actor(Role.FINANCE, by))
    console.print(f"redemption {redemption_id} released: the next payout run pays it")
