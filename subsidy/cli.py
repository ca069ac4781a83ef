"""The `qinqing` command: the CLI root that assembles every domain's commands."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from decimal import Decimal
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from matching import cli as matching_cli
from matching import service as matching_service
from payouts import cli as payouts_cli
from payouts import commands as payouts_commands
from policies import cli as policies_cli
from policies import service as policy_service
from policies.document import load_path
from reports import cli as reports_cli
from subsidy import actors, db, jobs, workers
from subsidy.audit import service as audit
from subsidy.auth import Role, mint
from subsidy.console import make_console, progress_bars, refusals
from subsidy.declare import cli as declare_cli
from subsidy.declare import service as declare_service
from subsidy.notifications import cli as notify_cli
from subsidy.notifications import service as notifications
from subsidy.redemption import automatic
from subsidy.redemption import demo as demo_redemptions
from subsidy.redemption import service as redemption_service
from subsidy.redemption.errors import RedemptionError
from subsidy.registry import catalog as catalogs
from subsidy.registry import cli as registry_cli
from subsidy.registry import demo, demo_sources
from subsidy.registry import service as registry_service
from subsidy.settings import get_settings, settings_or_exit
from subsidy.signin import cli as signin_cli
from subsidy.signin.cli import LOCAL_OFF

EXAMPLES = resources.files("policies") / "examples"

app = typer.Typer(
    name="qinqing",
    help="Qinqing: policy subsidies from published rules to the firm's bank account.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema migrations.")
app.add_typer(db_app, name="db")
app.add_typer(registry_cli.import_app, name="import")
app.add_typer(registry_cli.registry_app, name="registry")
registry_cli.registry_app.command("declare")(declare_cli.declare)
registry_cli.registry_app.command("catalog")(declare_cli.catalog)
app.command("demo-data")(registry_cli.demo_data)
policy_app = policies_cli.build(extra_checks=[matching_service.compile_issues])
policy_app.command("preview")(matching_cli.preview)
app.add_typer(policy_app, name="policy")
match = matching_cli.match_command(after=[automatic.after_match, notifications.after_match])
app.command("match")(match)
app.command("notify")(notify_cli.notify)
app.command("explain")(matching_cli.explain)

payouts_app = typer.Typer(
    help="Payouts: batches to the bank, approvals, reversals, retries, reconciliation."
)
app.add_typer(payouts_app, name="payouts")
payouts_app.command("run")(payouts_cli.run)
app.command("worker")(payouts_cli.worker)
app.command("beat")(payouts_cli.beat)
payouts_app.command("reconcile")(payouts_commands.reconcile_command)
payouts_app.command("approve")(payouts_commands.approve_command)
payouts_app.command("reverse")(payouts_commands.reverse_command)
payouts_app.command("flag")(payouts_commands.flag_command)
payouts_app.command("unflag")(payouts_commands.unflag_command)
payouts_app.command("correct-account")(payouts_commands.correct_account_command)
payouts_app.command("release")(payouts_commands.release_command)
ledger_app = typer.Typer(help="The double-entry ledger of subsidy money.")
app.add_typer(ledger_app, name="ledger")
ledger_app.command("check")(payouts_commands.ledger_check_command)
app.add_typer(reports_cli.report_app, name="report")
app.add_typer(signin_cli.sign_in_app, name="sign-in")

console = make_console()


@app.callback()
def _startup() -> None:
    """Load and check the settings before any command: one that cannot be used (a production
    default or short secret, a bad date) is one line on stderr and exit status 2. Then the
    workers' assembly: the broker, the task modules and the beat (`subsidy/workers.py`)."""
    settings_or_exit()
    workers.assembled()


audit_app = typer.Typer(help="The keyed (HMAC) audit chain and its signed checkpoints.")
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the keyed chain and hold it against every checkpoint; name the first entry or
    checkpoint that does not hold (exit status 1)."""
    with refusals():
        db.require_current_schema()
        with db.session_scope() as session:
            verdict = audit.verify(session)
    folder = get_settings().audit_checkpoints
    if verdict.reason is None:
        console.print(
            f"audit chain intact: {verdict.entries:,} entries, {verdict.checkpoints:,} "
            f"checkpoints in {folder} ({_audit_key()})",
            markup=False,
        )
        if verdict.entries and not verdict.checkpoints:
            make_console(stderr=True).print(
                f"no checkpoint in {folder}: a chain cut short would look intact; is "
                "QINQING_AUDIT_CHECKPOINT_DIR the directory the service writes?",
                style="yellow",
                markup=False,
            )
        return
    if verdict.first_broken:
        where = f"entry {verdict.first_broken}"
        if verdict.checkpoint:
            where += f" (checkpoint {verdict.checkpoint})"
    else:
        where = f"checkpoint {verdict.checkpoint}" if verdict.checkpoint else "the chain's end"
    make_console(stderr=True).print(
        f"audit chain broken at {where}: {verdict.reason}", style="red", markup=False
    )
    raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the chain's newest entry into the checkpoint directory now (e.g. from cron, or
    before a backup is taken)."""
    with refusals():
        db.require_current_schema()
        with db.session_scope() as session:
            mark = audit.checkpoint(session)
    if mark is None:
        console.print("the audit chain is empty: nothing to checkpoint")
        return
    console.print(
        f"checkpoint of entry {mark.entry} written to {get_settings().audit_checkpoints} "
        f"({_audit_key()})",
        markup=False,
    )


def _audit_key() -> str:
    key = audit.current_key()
    if key.development:
        return f"key {key.id}: the development key; set QINQING_AUDIT_KEY outside development"
    return f"key {key.id}"


WORKER_HEALTHCHECK_SECONDS = 30


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    proxy_headers: Annotated[
        bool,
        typer.Option(
            help="Take the client's address and scheme from X-Forwarded-For / -Proto, as sent "
            "by a proxy in --forwarded-allow-ips."
        ),
    ] = True,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated addresses of the reverse proxies trusted for proxy headers "
            "(default: uvicorn's FORWARDED_ALLOW_IPS, else 127.0.0.1,::1)."
        ),
    ] = None,
) -> None:
    """Serve the web API and the portal with uvicorn (OpenAPI at /docs unless QINQING_API_DOCS
    is off, as it is in production by default). Behind a TLS reverse proxy the scheme and the
    client's address come from its X-Forwarded-Proto / -For headers (docs/PRODUCTION.md)."""
    import uvicorn

    with refusals():
        db.require_current_schema()
    if audit.current_key().development:
        console.print(f"audit entries are keyed with the development key ({_audit_key()})")
    # uvicorn kills a worker that has not answered its supervisor's ping within the timeout (5 s
    # by default): a worker still importing on a loaded host, or busy under a burst, is not hung.
    uvicorn.run(
        "subsidy.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
    )


@app.command("token")
def token(
    role: Annotated[Role, typer.Option(help="The caller's role.")],
    uscc: Annotated[str | None, typer.Option(help="The firm (enterprise role only).")] = None,
    subject: Annotated[str, typer.Option(help="Who the token is for.")] = "cli",
    hours: Annotated[
        float, typer.Option(min=0.01, help="Lifetime in hours (at most QINQING_TOKEN_MAX_HOURS).")
    ] = 8,
) -> None:
    """Mint a bearer token signed with the secret key (for the API; the portal takes a sign-in
    link from `qinqing sign-in link`, or the token pasted into its form)."""
    if not get_settings().local_sign_in:  # the API would refuse it: say so now
        raise typer.BadParameter(LOCAL_OFF)
    try:
        minted = mint(
            get_settings(), role, subject=subject, uscc=uscc, lifetime=timedelta(hours=hours)
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(minted)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Migrate the database schema to REVISION (default: the newest)."""
    db.upgrade(revision=revision)
    console.print(f"database at revision {db.current_revision()}")


@app.command("demo")
def run_demo(
    firms: Annotated[int, typer.Option(min=1, help="Number of demo firms.")] = 2_000,
    seed: Annotated[int, typer.Option(help="Seed of the demo registry.")] = 2020,
    data: Annotated[Path, typer.Option(file_okay=False, help="Where to write the files.")] = Path(
        "demo-data"
    ),
    redeeming: Annotated[
        int, typer.Option("--redeem", min=0, help="Firms that redeem one-click subsidies.")
    ] = 40,
    serve_portal: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the portal at the end.")
    ] = True,
    host: Annotated[str, typer.Option(help="Address the portal listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The portal's port.")] = 8000,
    wait: Annotated[
        float,
        typer.Option(
            min=0, help="With a broker: seconds each payout step waits for `qinqing worker`."
        ),
    ] = 600,
) -> None:
    """Generate a registry, migrate, import it, declare a tax and a social-insurance source and
    import their generated files, publish the example policies (two read those sources), match
    them (with automatic grants and notifications), pay the grants out through the simulated
    bank, redeem one-click subsidies for some firms and pay those, then serve the portal with a
    sign-in link per role (--no-serve: stop before serving)."""
    settings = get_settings()
    started = time.perf_counter()
    _say_who_pays(wait)
    enterprises, employees = demo.generate(firms, seed=seed)
    paths = demo.write(enterprises, employees, data, "parquet")
    console.print(f"generated {enterprises.height:,} firms and {employees.height:,} employees")
    db.upgrade()
    with refusals(), db.session_scope() as session:
        registry_service.import_registry(session, *paths, data_dir=settings.data_dir)
    _declare_demo_sources(demo_sources.generate(enterprises, employees, seed=seed), data)
    registry_cli.registry_status()
    registry_cli.district_summary()
    with refusals():
        _publish_examples()
    # The demo registry describes mid-2020, when the example policies were in force.
    match(as_of=datetime.combine(demo.REFERENCE_DATE, datetime.min.time()))
    notify_cli.notify()
    payouts_cli.run(batch_size=1_000, wait=wait)  # the automatic grants, through the bank
    showcase = _redeem_some(redeeming)
    payouts_cli.run(batch_size=1_000, wait=wait)  # and those redemptions
    reports_cli.disbursements_command(settings.data_dir / "disbursements.xlsx")
    console.print(f"demo ready in {time.perf_counter() - started:.1f} s")
    # The example policies are from 2020: the portal acts on the registry's reference date.
    day = demo.REFERENCE_DATE.isoformat()
    with db.session_scope() as session:
        links = signin_cli.sign_in_links(
            session, f"http://{host}:{port}", showcase, issued_by="system:demo"
        )
    minutes = f"{settings.sign_in_code_minutes:g}"
    console.print(f"one-time sign-in links (each signs in once, within {minutes} minutes):")
    for role, link in links.items():
        console.print(f"sign in as {role}: {link}", markup=False, soft_wrap=True)
    console.print(
        "more with: qinqing sign-in link --role ROLE --subject NAME [--uscc USCC]", markup=False
    )
    if not serve_portal:
        console.print(f"serve the portal later with: QINQING_TODAY={day} qinqing serve")
        return
    # Only for the server this process starts (and its workers): a returning command leaves
    # the environment as it found it.
    os.environ.setdefault("QINQING_TODAY", day)
    get_settings.cache_clear()
    serve(host=host, port=port, workers=1)


def _say_who_pays(wait: float) -> None:
    """With a broker the demo's payouts are settled by `qinqing worker` processes: say so
    before anything is done, and what to start when none answers."""
    if jobs.celery_app.conf.task_always_eager:
        return
    broker, answering = jobs.shown_broker(), jobs.workers_answering()
    if answering:
        console.print(f"payouts are settled by the {answering} Celery worker(s) on {broker}")
        return
    console.print(
        f"[yellow]QINQING_BROKER_URL is set ({broker}) and no Celery worker answers: the "
        "demo's payouts are settled by `qinqing worker`. Start it in another terminal with the "
        "same QINQING_BROKER_URL and QINQING_DATABASE_URL (or unset QINQING_BROKER_URL to run "
        f"everything in this process); each payout step waits up to {wait:g} s (--wait)."
        "[/yellow]"
    )


def _declare_demo_sources(frames: dict[str, pl.DataFrame], data: Path) -> None:
    """Declare the tax and social-insurance sources, as their departments would, and import the
    files generated for them: the example policies in `examples/sources/` read them."""
    settings = get_settings()
    with refusals(), db.session_scope() as session:
        declared = declare_service.declare_demo(session)
    console.print(
        f"declared {len(declared.catalog.sources)} sources (version {declared.catalog.version})"
    )
    for name, frame in frames.items():
        path = data / f"{name}.parquet"
        frame.write_parquet(path)
        with refusals(), progress_bars() as progress, db.session_scope() as session:
            registry_service.import_source(
                session, name, path, data_dir=settings.data_dir, progress=progress
            )


def _example_files() -> list[Traversable]:
    """The example policies: those on the built-in registries, then those on the demo's
    declared sources."""
    return [
        file
        for folder in (EXAMPLES, EXAMPLES / "sources")
        for file in sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=str)
    ]


def _publish_examples() -> None:
    checks = [matching_service.compile_issues]
    with progress_bars() as progress, db.session_scope() as session:
        files = _example_files()
        in_force = catalogs.current(session)
        progress.stage("publishing the example policies", total=len(files))
        for file in files:
            document = load_path(Path(str(file)))
            approved = policy_service.approve(document, file.name, checks, catalog=in_force)
            policy_service.publish(session, approved, by=actors.DEMO)
            progress.advance(1)
    console.print(f"published {len(files)} example policies")


def _redeem_some(firms: int) -> str | None:
    """Some firms click "redeem" (each in its own transaction, as through the portal); the firm
    to sign in as: one with a redemption and a one-click subsidy still to redeem."""
    with refusals(), db.session_scope() as session:
        found = demo_redemptions.candidates(session, firms)
    count, total, showcase = 0, Decimal("0.00"), None
    for uscc, policies in found:
        for policy_id in policies:
            try:
                with db.session_scope() as session:
                    done = redemption_service.redeem(
                        session, uscc, policy_id, f"demo-{uscc}", today=demo.REFERENCE_DATE
                    )
            except RedemptionError:
                continue  # a group already held, the budget spent: as the firm would be told
            count, total = count + 1, total + done.redemption.amount
            if showcase is None and len(policies) > 1:
                showcase = uscc
            break
    console.print(
        f"{count:,} one-click redemptions by the first {len(found):,} firms ({total:,.2f} yuan)"
    )
    return showcase or (found[0][0] if found else None)
