"""`flask network import|export`: an operator's own files in and out, all or nothing, and
closures that never strand a booked parcel."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from portal.dev.demo import NETWORK_FILES
from portal.extensions import db
from portal.models import (
    Notification,
    Parcel,
    ParcelStatus,
    PickupPoint,
    SignedLink,
    Slot,
    SlotTemplate,
    Zone,
    ZonePostcodePrefix,
)
from portal.services import delivery
from tests.support import factories

# Monday 30 November 2026, 10:00 in Stockholm.
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ZONES = NETWORK_FILES / "zones.csv"
SLOTS = NETWORK_FILES / "slot_templates.csv"
POINTS = NETWORK_FILES / "pickup_points.csv"


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def run(*args: str):
        result = runner.invoke(args=["network", *args])
        db.session.rollback()  # read what the command committed
        return result

    return run


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def network(cli):
    """The demo's zones, slot templates and Baltic Express's points, imported as files."""
    factories.make_carrier("Baltic Express")
    with time_machine.travel(NOW, tick=False):
        for kind, path in (("zones", ZONES), ("slots", SLOTS), ("pickup-points", POINTS)):
            result = cli("import", kind, str(path))
            assert result.exit_code == 0, result.output


def test_importing_the_same_files_twice_changes_nothing(cli, network):
    zones, prefixes, templates, points, slots = (
        count(Zone),
        count(ZonePostcodePrefix),
        count(SlotTemplate),
        count(PickupPoint),
        count(Slot),
    )
    assert (zones, prefixes, templates, points) == (5, 9, 64, 16)
    assert slots > 0
    with time_machine.travel(NOW, tick=False):
        again = [
            cli("import", k, str(p)).output.strip()
            for k, p in (
                ("zones", ZONES),
                ("slots", SLOTS),
                ("pickup-points", POINTS),
            )
        ]
    assert again == [
        "0 created, 0 updated, 9 unchanged, 0 closed",
        "0 created, 0 updated, 64 unchanged, 0 closed",
        "0 created, 0 updated, 16 unchanged, 0 closed",
    ]
    assert (count(Zone), count(SlotTemplate), count(PickupPoint), count(Slot)) == (
        zones,
        templates,
        points,
        slots,
    )


@pytest.mark.parametrize(
    "kind, path, fmt",
    [("zones", ZONES, "csv"), ("slots", SLOTS, "csv"), ("pickup-points", POINTS, "csv")],
)
def test_export_writes_what_was_imported(cli, network, kind, path, fmt):
    exported = cli("export", kind)
    assert exported.exit_code == 0
    assert sorted(exported.output.splitlines()[1:]) == sorted(
        path.read_text(encoding="utf-8").splitlines()[1:]
    )
    assert exported.output.splitlines()[0] == path.read_text(encoding="utf-8").splitlines()[0]


def test_geojson_export_round_trips(cli, network, tmp_path):
    exported = cli("export", "pickup-points", "--format", "geojson")
    path = write(tmp_path, "points.geojson", exported.output)
    assert cli("import", "pickup-points", path).output.strip() == (
        "0 created, 0 updated, 16 unchanged, 0 closed"
    )


def test_a_file_with_a_bad_row_writes_nothing_and_lists_every_bad_row(cli, tmp_path):
    path = write(
        tmp_path,
        "zones.csv",
        ZONES.read_text(encoding="utf-8")
        + "Malmö,SE,Europe/Malmo,21,55.6,13.0,,18:00\n"
        + "Malmö,SE,Europe/Stockholm,22,55.6,213.0,,18:00\n",
    )
    result = cli("import", "zones", path)
    assert result.exit_code == 1
    assert "line 11: time_zone: 'Europe/Malmo' is not a time zone name" in result.output
    assert "line 12: longitude: 213.0 is out of range (-180 to 180)" in result.output
    assert "2 bad rows: nothing was imported." in result.output
    assert count(Zone) == 0


def test_slot_templates_for_an_unknown_zone_are_refused(cli, tmp_path):
    path = write(
        tmp_path, "s.csv", "zone,weekday,start,end,vehicle,capacity\nNowhere,Mo,08:00,10:00,van,3\n"
    )
    result = cli("import", "slots", path)
    assert result.exit_code == 1
    assert "line 2: zone: unknown zone 'Nowhere': import it in zones.csv first" in result.output


def test_dry_run_counts_but_writes_nothing(cli):
    factories.make_carrier("Baltic Express")
    result = cli("import", "zones", str(ZONES), "--dry-run")
    assert result.exit_code == 0
    assert result.output.strip() == (
        "9 would be created, 0 would be updated, 0 would be unchanged, 0 would be closed"
    )
    assert count(Zone) == 0


def book_locker(point_name: str) -> Parcel:
    parcel = factories.make_parcel(statuses=[ParcelStatus.IN_TRANSIT])
    point = db.session.execute(
        select(PickupPoint).where(PickupPoint.name == point_name)
    ).scalar_one()
    with time_machine.travel(NOW, tick=False):
        delivery.choose(
            parcel,
            delivery.ChoiceRequest(delivery.C.LOCKER, pickup_point_id=point.id),
            confirm=False,
        )
    db.session.commit()
    return parcel


def withdrawn(parcel: Parcel) -> list[Notification]:
    return list(
        db.session.execute(
            select(Notification).where(
                Notification.parcel_id == parcel.id, Notification.trigger == "choice_withdrawn"
            )
        ).scalars()
    )


def test_close_missing_closes_a_dropped_point_and_tells_its_booked_recipient(
    cli, network, tmp_path
):
    parcel = book_locker("Lastmile Box Sveavägen")
    without = "".join(
        line
        for line in POINTS.read_text(encoding="utf-8").splitlines(keepends=True)
        if "BE-STO-003" not in line
    )
    path = write(tmp_path, "points.csv", without)

    preview = cli("import", "pickup-points", path, "--close-missing", "--dry-run")
    assert "1 would be closed" in preview.output
    assert parcel.tracking_number in preview.output
    assert withdrawn(parcel) == []

    with time_machine.travel(NOW, tick=False):
        result = cli("import", "pickup-points", path, "--close-missing")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "0 created, 0 updated, 15 unchanged, 1 closed"
    assert f"(told): {parcel.tracking_number}" in result.output
    point = db.session.execute(
        select(PickupPoint).where(PickupPoint.external_id == "BE-STO-003")
    ).scalar_one()
    assert point.closed_for_good and point.lockers_reserved == 0
    assert delivery.current_choice(db.session.get(Parcel, parcel.id)) is None
    told = withdrawn(parcel)
    assert told, "the recipient hears that their locker is gone"
    assert all("Lastmile Box Sveavägen" in n.body for n in told), [n.body for n in told]
    targets = set(
        db.session.execute(
            select(SignedLink.target).where(SignedLink.parcel_id == parcel.id)
        ).scalars()
    )
    assert f"/t/{parcel.tracking_number}/delivery" in targets  # one tap to choose again

    # Listed again later: the point opens again.
    with time_machine.travel(NOW, tick=False):
        back = cli("import", "pickup-points", str(POINTS))
    assert back.output.strip() == "0 created, 1 updated, 15 unchanged, 0 closed"
    db.session.refresh(point)
    assert point.closed_from is None


def test_lower_template_capacity_keeps_booked_places(cli, network, tmp_path):
    parcel = factories.make_parcel(statuses=[ParcelStatus.IN_TRANSIT])
    zone = parcel.zone
    slot = (
        db.session.execute(
            select(Slot)
            .where(Slot.zone_id == zone.id, Slot.day == date(2026, 12, 2), Slot.vehicle == "van")
            .order_by(Slot.starts_at)
        )
        .scalars()
        .first()
    )
    with time_machine.travel(NOW, tick=False):
        delivery.book_slot(parcel, slot.id)
    db.session.commit()
    others = (
        db.session.execute(
            select(Slot).where(Slot.template_id == slot.template_id, Slot.id != slot.id)
        )
        .scalars()
        .all()
    )

    lowered = SLOTS.read_text(encoding="utf-8").replace(
        "Stockholm inner city,We,08:00,10:00,van,12", "Stockholm inner city,We,08:00,10:00,van,1"
    )
    with time_machine.travel(NOW, tick=False):
        result = cli("import", "slots", write(tmp_path, "slots.csv", lowered))
    assert result.output.strip() == "0 created, 1 updated, 63 unchanged, 0 closed"
    db.session.refresh(slot)
    assert (slot.capacity, slot.booked) == (1, 1)
    for other in others:
        db.session.refresh(other)
        assert other.capacity == 1
    assert delivery.current_choice(db.session.get(Parcel, parcel.id)).slot_id == slot.id


def test_no_slot_is_generated_on_christmas_day(cli, network):
    with time_machine.travel(datetime(2026, 12, 20, 9, 0, tzinfo=UTC), tick=False):
        delivery.generate_slots(14)
    db.session.commit()
    days = set(db.session.execute(select(Slot.day)).scalars())
    assert date(2026, 12, 24) in days  # Christmas Eve: not a public holiday in Sweden
    assert date(2026, 12, 25) not in days and date(2026, 12, 26) not in days


def test_demo_parcels_are_expected_within_working_hours(app):
    tz = ZoneInfo("Europe/Stockholm")
    with time_machine.travel(datetime(2026, 11, 25, 1, 0, tzinfo=tz), tick=False):
        result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    windows = db.session.execute(
        select(Parcel.eta_from, Parcel.eta_to).where(Parcel.eta_from.is_not(None))
    ).all()
    assert windows
    for start, end in windows:
        start, end = start.astimezone(tz), end.astimezone(tz)
        assert start.date().weekday() < 5
        assert time(8) <= start.time() and end.time() <= time(21), (start, end)


def test_a_longer_window_moves_free_slots_but_not_a_booked_one(cli, network, tmp_path):
    parcel = factories.make_parcel(statuses=[ParcelStatus.IN_TRANSIT])
    wednesday_08 = (
        select(Slot)
        .where(Slot.zone_id == parcel.zone_id, Slot.vehicle == "van")
        .order_by(Slot.starts_at)
    )
    booked = db.session.execute(wednesday_08.where(Slot.day == date(2026, 12, 2))).scalars().first()
    free = db.session.execute(wednesday_08.where(Slot.day == date(2026, 12, 9))).scalars().first()
    with time_machine.travel(NOW, tick=False):
        delivery.book_slot(parcel, booked.id)
    db.session.commit()
    promised = booked.ends_at
    longer = SLOTS.read_text(encoding="utf-8").replace(
        "Stockholm inner city,We,08:00,10:00,van,12", "Stockholm inner city,We,08:00,11:00,van,12"
    )
    with time_machine.travel(NOW, tick=False):
        assert cli("import", "slots", write(tmp_path, "s.csv", longer)).exit_code == 0
    db.session.refresh(booked)
    db.session.refresh(free)
    assert booked.ends_at == promised  # the recipient was promised 08:00-10:00
    assert free.template_id == booked.template_id
    assert free.ends_at.astimezone(ZoneInfo("Europe/Stockholm")).time() == time(11)
