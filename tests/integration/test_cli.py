"""The command line: demo data, API keys."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import ApiKey, Parcel, ParcelStatus, TrackingEvent


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_seed_demo_makes_every_status_and_is_idempotent(app, client):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    parcels, events = count(Parcel), count(TrackingEvent)
    statuses = set(db.session.execute(select(Parcel.status)).scalars())
    assert statuses == set(ParcelStatus)
    assert "Demo tracking link: http://portal.test/t/" in first.output
    assert "API key (shown once)" in first.output

    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert (count(Parcel), count(TrackingEvent)) == (parcels, events)
    assert "API key" not in second.output  # keys exist already; never shown twice

    # The printed signed link opens the parcel verified.
    link = re.search(
        r"signed link \(opens it verified\): http://portal.test(/l/\S+)", second.output
    )
    res = client.get(link.group(1))
    assert res.status_code == 303
    assert "Alva Lindqvist" in client.get(res.headers["Location"]).get_data(as_text=True)


def test_seed_demo_on_a_database_seeded_with_the_old_lm_numbers_adds_no_second_set(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    # As a demo database made before the demo moved from the LM series (now the portal's own).
    for parcel in db.session.execute(select(Parcel)).scalars():
        parcel.tracking_number = "LM" + parcel.tracking_number.removeprefix("DM")
    db.session.commit()
    parcels = count(Parcel)
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0, again.output
    assert count(Parcel) == parcels
    assert "Demo tracking link: http://portal.test/t/LM" in again.output


def test_api_key_create_prints_a_working_key_once_and_stores_only_its_hash(app, client):
    result = app.test_cli_runner().invoke(args=["api-key", "create", "--merchant", "Fjällshop"])
    assert result.exit_code == 0
    key = result.stdout.strip().splitlines()[0]
    assert key.startswith("lm_mk_")
    stored = db.session.execute(select(ApiKey)).scalar_one()
    assert stored.key_hash != key and key not in stored.key_hash
    assert stored.merchant.name == "Fjällshop"
    res = client.get("/api/v1/parcels/RA123456785GB", headers={"Authorization": f"Bearer {key}"})
    assert res.status_code == 404  # authenticated, just no such parcel


def test_api_key_create_needs_exactly_one_owner(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["api-key", "create"]).exit_code != 0
    both = runner.invoke(args=["api-key", "create", "--merchant", "A", "--carrier", "B"])
    assert both.exit_code != 0 and "exactly one" in both.output
