"""Command line: `flask --app wsgi seed-demo | api-key create | seed-bench | network …`."""

from __future__ import annotations

import sys

import click
from click.core import ParameterSource
from flask import Flask, current_app
from flask.cli import AppGroup

from portal.dev.bench import seed_bench
from portal.dev.demo import (
    DEMO_AGENT_EMAIL,
    DEMO_CONSOLE_PASSWORD,
    DEMO_STAFF_EMAIL,
    DEMO_STAFF_PASSWORD,
    DEMO_SUPERVISOR_EMAIL,
    seed_demo,
)
from portal.extensions import db
from portal.notifications.handoff import drain
from portal.notifications.worker import worker_command
from portal.services.accounts import create_account
from portal.services.api_keys import create_api_key, get_or_create_carrier, get_or_create_merchant
from portal.services.delivery import generate_slots
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
        click.echo(f"{p.status:<18} {base}/t/{p.tracking_number:<19} {base}/l/{p.token}")
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
@click.option("--parcels", "count", type=click.IntRange(1, 10_000_000), default=100_000)
@click.option("--events", "events_per_parcel", type=click.IntRange(0, 50), default=8)
def seed_bench_command(count: int, events_per_parcel: int) -> None:
    """Bulk-load N benchmark parcels (tracking numbers BN…SE) with events; replaces earlier ones."""
    seconds = seed_bench(count, events_per_parcel)
    click.echo(f"loaded {count} parcels with {events_per_parcel} events each in {seconds:.1f}s")


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
