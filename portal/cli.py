"""Command line: `flask --app wsgi seed-demo | api-key create | seed-bench | network …`."""

from __future__ import annotations

import sys

import click
from click.core import ParameterSource
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from portal.dev.bench import seed_bench, seed_history
from portal.dev.demo import (
    DEMO_AGENT_EMAIL,
    DEMO_CONSOLE_PASSWORD,
    DEMO_STAFF_EMAIL,
    DEMO_STAFF_PASSWORD,
    DEMO_SUPERVISOR_EMAIL,
    seed_demo,
)
from portal.extensions import db
from portal.models import Carrier
from portal.notifications.handoff import drain
from portal.notifications.worker import worker_command
from portal.services import retention as retention_service
from portal.services.accounts import create_account
from portal.services.api_keys import create_api_key, get_or_create_carrier, get_or_create_merchant
from portal.services.delivery import generate_slots
from portal.services.edd import (
    Backfilled,
    backfill,
    backtest,
    fit_estimates,
    forget_estimates,
    import_history,
)
from portal.services.errors import DomainError
from portal.services.network import files, imports


def register(app: Flask) -> None:
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(api_key)
    app.cli.add_command(seed_bench_command)
    app.cli.add_command(slots)
    app.cli.add_command(agent)
    app.cli.add_command(network)
    app.cli.add_command(worker_command)
    app.cli.add_command(edd)
    app.cli.add_command(retention)


def _base_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


@click.command("seed-demo")
def seed_demo_command() -> None:
    """A merchant, a carrier, zones and a parcel in every status, with links to open them."""
    parcels, keys = seed_demo()
    db.session.commit()
    drain()
    base = _base_url()
    first = next(p for p in parcels if p.status == "out_for_delivery")
    click.echo("")
    click.echo(f"Demo tracking link: {base}/t/{first.tracking_number}  (postcode {first.postcode})")
    click.echo(f"Demo signed link (opens it verified): {base}/l/{first.token}")
    delivered = next(p for p in parcels if p.status == "delivered")
    click.echo(
        f"Return items (open its signed link first): {base}/t/{delivered.tracking_number}/return"
        f"  signed link: {base}/l/{delivered.token}"
    )
    click.echo(
        f"Drop-off desk: {base}/dropoff  log in as {DEMO_STAFF_EMAIL} / {DEMO_STAFF_PASSWORD}"
    )
    click.echo(
        f"Agent console: {base}/admin  log in as {DEMO_AGENT_EMAIL} / {DEMO_CONSOLE_PASSWORD}"
        f"  (supervisor: {DEMO_SUPERVISOR_EMAIL}, same password; sets up an authenticator app"
        " on first log-in)"
    )
    choosable = next(p for p in parcels if p.status == "in_transit")
    click.echo(
        f"Delivery choices (open its signed link first): {base}/t/{choosable.tracking_number}"
        f"/delivery  signed link: {base}/l/{choosable.token}"
    )
    click.echo("")
    click.echo(f"{'status':<18} {'tracking page':<42} signed link")
    for p in parcels:
        if not p.language:
            click.echo(f"{p.status:<18} {base}/t/{p.tracking_number:<19} {base}/l/{p.token}")
    click.echo("")
    click.echo(
        "Recipients in Oslo, Copenhagen and Helsinki (pages and messages in their language):"
    )
    for p in parcels:
        if p.language:
            click.echo(
                f"{p.city:<12} {p.language:<3} {p.status:<11} {base}/t/{p.tracking_number:<19}"
                f" (postcode {p.postcode})  signed link: {base}/l/{p.token}"
            )
    for kind, key in keys.items():
        click.echo(f"Demo {kind} API key (shown once): {key}")
    click.echo("")


slots = AppGroup("slots", help="Delivery slots.")


@slots.command("generate")
@click.option("--days", type=click.IntRange(1, 90), default=14, show_default=True)
def generate_slots_command(days: int) -> None:
    """Dated slots for the next DAYS days from every zone's templates (idempotent: run daily)."""
    made = generate_slots(days=days)
    db.session.commit()
    click.echo(f"{made} new slots for the next {days} days.")


api_key = AppGroup("api-key", help="API keys for merchants and carriers.")


@api_key.command("create")
@click.option("--merchant", "merchant_name", help="Merchant name (created if new).")
@click.option("--carrier", "carrier_name", help="Carrier name (created if new).")
def create_key(merchant_name: str | None, carrier_name: str | None) -> None:
    """Create a key and print it once; only its hash is stored."""
    merchant_name = (merchant_name or "").strip()
    carrier_name = (carrier_name or "").strip()
    if bool(merchant_name) == bool(carrier_name):
        raise click.UsageError("Give exactly one of --merchant NAME or --carrier NAME.")
    if merchant_name:
        _, plaintext = create_api_key(merchant=get_or_create_merchant(merchant_name))
    else:
        _, plaintext = create_api_key(carrier=get_or_create_carrier(carrier_name))
    db.session.commit()
    click.echo(plaintext)
    click.echo("Store this key now: it is not shown again.", err=True)


agent = AppGroup("agent", help="Staff accounts: drop-off desks, agents, supervisors.")


@agent.command("create")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(["dropoff", "agent", "supervisor"]), required=True)
@click.option("--name", default="", help="Shown in the console and audit log.")
@click.option("--place", default=None, help="dropoff: the service point's name.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (for scripts).",
)
@click.option(
    "--password",
    envvar="LASTMILE_AGENT_PASSWORD",
    help="The password (also LASTMILE_AGENT_PASSWORD). Prefer the prompt or --password-stdin:"
    " arguments show up in process lists.",
)
def create_agent(
    email: str, role: str, name: str, place: str | None, password_stdin: bool, password: str | None
) -> None:
    """Create a staff account. The password is asked for twice, read from standard input with
    --password-stdin, or taken from LASTMILE_AGENT_PASSWORD. Supervisors set up two-step log-in
    at their first log-in."""
    if password_stdin:
        source = click.get_current_context().get_parameter_source("password")
        if source is ParameterSource.COMMANDLINE:
            raise click.UsageError("Give either --password-stdin or --password, not both.")

        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise click.UsageError("No password on standard input.")
    elif password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        account = create_account(email, name=name, role=role, password=password, place=place)
    except DomainError as exc:
        raise click.UsageError(exc.message) from None
    db.session.commit()
    click.echo(f"Created {account.role} account {account.email}.")


@click.command("seed-bench")
@click.option("--parcels", "count", type=click.IntRange(0, 10_000_000), default=100_000)
@click.option("--events", "events_per_parcel", type=click.IntRange(0, 50), default=8)
@click.option(
    "--history-days",
    type=click.IntRange(0, 365),
    default=0,
    help="Also generate this many days of delivery history (ending yesterday) for `edd fit`.",
)
@click.option(
    "--history-per-day",
    type=click.IntRange(1, 1_000_000),
    default=8000,
    show_default=True,
    help="Generated parcels per calendar day on average (120 days × 8000: about 1M rows).",
)
def seed_bench_command(
    count: int, events_per_parcel: int, history_days: int, history_per_day: int
) -> None:
    """Bulk-load N benchmark parcels (tracking numbers BN…SE) with events; replaces earlier ones.
    With --history-days, also generated (not real) transit observations for three carriers,
    replacing the history generated before (portal/dev/bench.py says how it is made)."""
    if count:
        seconds = seed_bench(count, events_per_parcel)
        click.echo(f"loaded {count} parcels with {events_per_parcel} events each in {seconds:.1f}s")
    if history_days:
        rows, seconds = seed_history(history_days, history_per_day)
        db.session.commit()
        click.echo(
            f"generated {rows} transit observations over {history_days} days in {seconds:.1f}s"
        )


network = AppGroup("network", help="The delivery network: zones, slot templates, pickup points.")
KIND = click.Choice(["zones", "slots", "pickup-points"])


@network.command("import")
@click.argument("kind", type=KIND)
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Check and count, write nothing.")
@click.option(
    "--close-missing",
    is_flag=True,
    help="pickup-points: close (never delete) a carrier's points the file no longer lists.",
)
def network_import(kind: str, file, dry_run: bool, close_missing: bool) -> None:
    """Import KIND from FILE (CSV; pickup-points also GeoJSON). All or nothing: a file with any
    bad row writes nothing and lists every bad row."""
    try:
        result = imports.import_file(
            kind, file.read(), file.name or "", dry_run=dry_run, close_missing=close_missing
        )
    except files.FileRejected as exc:
        db.session.rollback()
        for error in exc.errors:
            click.echo(str(error), err=True)
        click.echo(f"{len(exc.errors)} bad rows: nothing was imported.", err=True)
        raise SystemExit(1) from None
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    counts = result.counts()
    verb = "would be " if dry_run else ""
    click.echo(", ".join(f"{counts[k]} {verb}{k}" for k in counts))
    for booked_on, numbers in imports.group_affected(result.affected).items():
        told = "would be told" if dry_run else "told"
        click.echo(f"{len(numbers)} parcels booked on {booked_on} ({told}): {' '.join(numbers)}")
    if not dry_run and result.affected:
        drain()


@network.command("export")
@click.argument("kind", type=KIND)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "geojson"]),
    default="csv",
    help="geojson: pickup-points only.",
)
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-")
def network_export(kind: str, fmt: str, output) -> None:
    """Write KIND in its import format (to standard output, or --output FILE)."""
    if fmt == "geojson" and kind != "pickup-points":
        raise click.BadParameter("geojson is for pickup-points", param_hint="--format")
    output.write(imports.export(kind, fmt))


edd = AppGroup("edd", help="Predicted delivery dates: fit, backtest, history, carrier defaults.")


@edd.command("fit")
def edd_fit() -> None:
    """Count transits per segment from the observations of the last EDD_FIT_DAYS and replace
    the estimates (nightly: deploy/lastmile-edd-fit.timer)."""
    result = fit_estimates()
    db.session.commit()
    kept = ", ".join(f"{n} {basis}" for basis, n in sorted(result.segments.items())) or "none"
    click.echo(
        f"fitted {result.observations} parcels picked up since {result.since} in "
        f"{result.seconds:.1f}s; segments kept: {kept}"
    )


@edd.command("backfill")
@click.option("--batch", type=click.IntRange(100, 100_000), default=5000, show_default=True)
def edd_backfill(batch: int) -> None:
    """Once after upgrading: the pickup and delivery times of parcels from before predicted
    delivery dates, from their stored events, and the transits of those delivered, so `edd
    fit` learns from this network's own history. In batches, committed one by one; running it
    again adds nothing. Promises can't be made up afterwards: those parcels have none."""
    total = Backfilled()
    for done in backfill(batch):
        db.session.commit()
        total.picked_up += done.picked_up
        total.delivered += done.delivered
        total.observations += done.observations
    click.echo(
        f"pickup times for {total.picked_up} parcels, delivery times for {total.delivered}; "
        f"{total.observations} transits recorded. Run `edd fit` next."
    )


@edd.command("backtest")
@click.option("--days", type=click.IntRange(1, 365), default=30, show_default=True)
@click.option(
    "--settle-days",
    type=click.IntRange(0, 60),
    default=0,
    show_default=True,
    help="Leave out the latest pickups (their slow parcels may not be delivered yet).",
)
def edd_backtest(days: int, settle_days: int) -> None:
    """Fit on everything before the last DAYS days, predict each parcel picked up in them as of
    its pickup, and print how it went beside the baseline (each carrier's median transit).
    Only delivered parcels are known: with --settle-days N the window ends N days ago, so the
    slow parcels of its last days count too."""
    result = backtest(days, settle_days=settle_days)
    db.session.rollback()
    click.echo(
        f"backtest: fitted on {result.fitted_on} parcels delivered before {result.since}; "
        f"predicted {result.model.parcels} picked up {result.since} to {result.until}"
    )
    click.echo(f"{'':<32} {'prediction':>11} {'baseline':>11}")
    model, base = result.model.figures(), result.baseline.figures()
    for label, key, percent in (
        ("exact-day hit rate", "exact_day", True),
        ("range hit rate", "in_range", True),
        ("mean absolute error (work days)", "mean_abs_error_days", False),
        ("stated confidence (mean)", "stated_confidence", True),
        ("calibration gap (points)", "calibration_gap", True),
    ):
        if percent:
            click.echo(f"{label:<32} {model[key] * 100:>10.1f}% {base[key] * 100:>10.1f}%")
        else:
            click.echo(f"{label:<32} {model[key]:>11.2f} {base[key]:>11.2f}")
    click.echo("calibration by stated confidence: stated band → observed share in range")
    for band, (n, hit) in sorted(result.model.bands.items()):
        click.echo(
            f"  {band * 100:>4.0f}–{min(band + 0.05, 1) * 100:.0f}%: {hit / n * 100:5.1f}% of {n}"
        )


@edd.command("import-history")
@click.argument("file", type=click.File("rb"))
def edd_import_history(file) -> None:
    """Load delivery history from a CSV file with the columns
    carrier,origin_postcode,destination_postcode,picked_up_at,delivered_at. All or nothing: a
    file with any bad row writes nothing and lists every bad row. Run `edd fit` afterwards."""
    try:
        result = import_history(file.read())
    except files.FileRejected as exc:
        db.session.rollback()
        for error in exc.errors:
            click.echo(str(error), err=True)
        raise SystemExit(1) from None
    db.session.commit()
    click.echo(
        f"{result.rows} rows: {result.added} added, {result.already} imported before; "
        f"{result.without_zone} to postcodes outside the network (learned per carrier only)"
    )


@edd.command("carrier-default")
@click.argument("carrier")
@click.argument("days", required=False)
@click.option("--clear", is_flag=True, help="Remove the carrier's default.")
def edd_carrier_default(carrier: str, days: str | None, clear: bool) -> None:
    """Set CARRIER's transit for routes with too little history, in working days: `1-3`, or
    `2` for exactly two. Without DAYS, print it."""
    found = db.session.execute(select(Carrier).where(Carrier.name == carrier)).scalar_one_or_none()
    if found is None:
        raise click.UsageError(f"No carrier is called {carrier!r}.")
    if clear:
        found.edd_days_min = found.edd_days_max = None
    elif days is not None:
        low, _, high = days.partition("-")
        try:
            low_n, high_n = int(low), int(high or low)
        except ValueError:
            raise click.UsageError("DAYS is a number of working days or a range: 2, 1-3") from None
        if not 0 <= low_n <= high_n <= 30:
            raise click.UsageError("DAYS runs from 0 to 30 working days, the lower first: 1-3")
        found.edd_days_min, found.edd_days_max = low_n, high_n
    db.session.commit()
    forget_estimates()
    if found.edd_days_min is None:
        click.echo(f"{found.name}: no default (the global EDD_DEFAULT_DAYS applies)")
    else:
        click.echo(f"{found.name}: {found.edd_days_min}-{found.edd_days_max} working days")


retention = AppGroup(
    "retention", help='Keep personal data no longer than configured (README, "Retention").'
)


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="Count what is due, write nothing.")
@click.option(
    "--batch",
    type=click.IntRange(1, 100_000),
    default=None,
    help="Parcels (id range) per committed transaction [RETENTION_BATCH].",
)
def retention_run(dry_run: bool, batch: int | None) -> None:
    """Anonymise parcels closed longer than RETENTION_DAYS ago, delete complaint photos
    RETENTION_PHOTO_DAYS after their case closed, and give /me profiles idle for
    RETENTION_PROFILE_DAYS one notice, deleting them RETENTION_PROFILE_NOTICE_DAYS later unless
    their owner signs in. Counts per kind; safe to repeat."""
    report = retention_service.run(dry_run=dry_run, batch=batch)
    if dry_run:
        click.echo("dry run: nothing was written")
    for line in report.lines():
        click.echo(line)
