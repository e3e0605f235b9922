"""Green by default (issue 19): the delivery page pre-selects the greenest option that arrives
no later than the earliest one, marked "Greenest, arrives the same day", and nothing when every
greener option arrives later; a choice the recipient made stays selected."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from portal.models import ParcelStatus, PickupPoint, Slot, Vehicle
from tests.support import factories
from tests.support.pages import text, verify

NOW = factories.DELIVERY_NOW  # Thursday 26 November 2026, 10:00 in Stockholm
FRIDAY = date(2026, 11, 27)
STOCKHOLM = ZoneInfo("Europe/Stockholm")
MARKER = "Greenest, arrives the same day"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def url(parcel) -> str:
    return f"/t/{parcel.tracking_number}/delivery"


def friday_slot(db, vehicle: Vehicle) -> Slot:
    return db.session.execute(
        select(Slot).where(Slot.day == FRIDAY, Slot.vehicle == vehicle)
    ).scalar_one()


def checked(html: str, name: str) -> list[str]:
    """The values of the checked radios called `name`."""
    return re.findall(
        rf'<input type="radio" name="{name}" id="[^"]+" value="([^"]+)"[^>]*checked', html
    )


def carrier_window(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, 9, tzinfo=STOCKHOLM)
    return start, start + timedelta(hours=8)


def test_the_greenest_option_that_arrives_the_same_day_is_preselected(client, db):
    factories.make_delivery_zone()
    parcel = factories.make_parcel(merchant=factories.safe_place_merchant())
    factories.open_as_recipient(client, parcel)
    html = client.get(url(parcel)).get_data(as_text=True)
    # Friday is the earliest day: its cargo-bike slot (20 g) is greener than its van slot.
    bike = friday_slot(db, Vehicle.CARGO_BIKE)
    assert checked(html, "slot") == [str(bike.id)] and checked(html, "pickup_point") == []
    page = text(html)
    assert page.count(MARKER) == 1
    assert f"by electric cargo bike about 20 g CO2e {MARKER}" in page
    # The marker is text inside the radio's label, not colour alone.
    label = re.search(rf'<label for="slot-{bike.id}">(.*?)</label>', html, re.S).group(1)
    assert MARKER in label


def test_a_pickup_point_arriving_on_the_earliest_day_is_preselected(client, db):
    """A pickup point fixes no day: it arrives when the carrier expects the parcel (Friday)."""
    factories.make_delivery_zone()
    parcel = factories.make_parcel(statuses=[ParcelStatus.IN_TRANSIT], eta=carrier_window(FRIDAY))
    friday_slot(db, Vehicle.CARGO_BIKE).booked = 2  # full: Friday has only the van left
    db.session.flush()
    factories.open_as_recipient(client, parcel)
    html = client.get(url(parcel)).get_data(as_text=True)
    near = db.session.execute(
        select(PickupPoint).where(PickupPoint.name == "Near Shop")
    ).scalar_one()
    assert checked(html, "pickup_point") == [str(near.id)] and checked(html, "slot") == []
    assert text(html).count(MARKER) == 1


def test_nothing_is_preselected_when_every_greener_option_arrives_later(client, db):
    factories.make_delivery_zone()
    # The carrier expects it next Wednesday: pickup points, safe place and neighbour arrive then.
    parcel = factories.make_parcel(
        statuses=[ParcelStatus.IN_TRANSIT], eta=carrier_window(date(2026, 12, 2))
    )
    friday_slot(db, Vehicle.CARGO_BIKE).booked = 2  # Friday: only a van slot, 203 g
    db.session.flush()
    factories.open_as_recipient(client, parcel)
    html = client.get(url(parcel)).get_data(as_text=True)
    assert checked(html, "slot") == [] and checked(html, "pickup_point") == []
    page = text(html)
    assert MARKER not in page
    assert page.count("Greenest") == 1  # the greenest overall is still marked, just not chosen


def test_a_choice_already_made_is_not_overridden(client, db):
    factories.make_delivery_zone()
    parcel = factories.make_parcel(merchant=factories.safe_place_merchant())
    factories.open_as_recipient(client, parcel)
    van = friday_slot(db, Vehicle.VAN)
    res = factories.post_delivery_choice(client, parcel, {"choice": "slot", "slot": str(van.id)})
    assert res.status_code == 303
    html = client.get(url(parcel)).get_data(as_text=True)
    assert checked(html, "slot") == [str(van.id)]  # the recipient's van slot, not the bike's
    assert checked(html, "pickup_point") == []


def test_a_chosen_pickup_point_stays_and_no_slot_is_checked(client, db):
    factories.make_delivery_zone()
    parcel = factories.make_parcel(merchant=factories.safe_place_merchant())
    factories.open_as_recipient(client, parcel)
    far = db.session.execute(
        select(PickupPoint).where(PickupPoint.name == "Far Kiosk")
    ).scalar_one()
    res = factories.post_delivery_choice(
        client, parcel, {"choice": "pickup_point", "pickup_point": str(far.id)}
    )
    assert res.status_code == 303
    html = client.get(url(parcel)).get_data(as_text=True)
    assert checked(html, "pickup_point") == [str(far.id)] and checked(html, "slot") == []


def test_unverified_visitors_see_no_options_until_verified(client, db):
    """The page asks for the postcode first (as for every option); once the postcode is given
    the default is pre-selected the same as from the SMS link."""
    factories.make_delivery_zone()
    parcel = factories.make_parcel(merchant=factories.safe_place_merchant())
    res = client.get(url(parcel))
    assert res.status_code == 303 and "/verify?next=" in res.location
    assert MARKER not in res.get_data(as_text=True)
    verify(client, parcel, "113 48")
    html = client.get(url(parcel)).get_data(as_text=True)
    assert checked(html, "slot") == [str(friday_slot(db, Vehicle.CARGO_BIKE).id)]


def test_checkout_options_say_which_is_green_by_default(db, merchant_api):
    factories.make_delivery_zone()
    factories.make_carrier("Baltic Express")
    res = merchant_api.get("/api/v1/delivery-options?postcode=113%2048&weight=1200")
    assert res.status_code == 200, res.json
    defaults = [o for o in res.json["options"] if o["green_default"]]
    assert len(defaults) == 1
    bike = friday_slot(db, Vehicle.CARGO_BIKE)
    assert (defaults[0]["type"], defaults[0]["id"]) == ("slot", bike.id)
    hold = next(o for o in res.json["options"] if o["type"] == "hold")
    assert hold["green_default"] is False
