"""Supervisors run the delivery network from the console: zones and their prefixes and closed
days, slot templates and dated slots, pickup points and lockers, carriers, file imports. Every
change is audited; closures that take bookings away are confirmed first and tell recipients;
two supervisors editing the same row never overwrite each other unseen."""

from __future__ import annotations

import html
import io
import re
from datetime import date, time

import pytest
import time_machine
from sqlalchemy import event, func, select, text

from portal.extensions import db
from portal.models import (
    AuditEntry,
    Carrier,
    ChoiceType,
    ClosedDay,
    Notification,
    PickupPoint,
    Role,
    Slot,
    SlotTemplate,
    Vehicle,
    Zone,
    ZonePostcodePrefix,
)
from portal.services import delivery
from portal.services.network import imports
from portal.services.network.console import EditConflict, slots, zones
from portal.services.network.imports import by_kind
from tests.support import factories
from tests.support.pages import csrf_token
from tests.support.staff import login, post

NOW = factories.DELIVERY_NOW  # Thursday 26 November 2026, 10:00 in Stockholm
MONDAY = date(2026, 11, 30)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def sara(db):
    return factories.make_agent("sara@example.com", role=Role.SUPERVISOR)


@pytest.fixture
def supervisor(client, sara):
    login(client, sara)
    return client


@pytest.fixture
def zone(db) -> Zone:
    return factories.make_delivery_zone()


def page_text(res) -> str:
    body = res if isinstance(res, str) else res.get_data(as_text=True)
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", body, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def version_in(page: str) -> str:
    return re.search(r'<input[^>]*name="version"[^>]*value="(\d+)"', page).group(1)


def audit(action: str) -> list[AuditEntry]:
    db.session.rollback()
    return list(
        db.session.execute(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        ).scalars()
    )


def withdrawn_messages(parcel) -> list[Notification]:
    db.session.rollback()
    return list(
        db.session.execute(
            select(Notification).where(
                Notification.parcel_id == parcel.id, Notification.trigger == "choice_withdrawn"
            )
        ).scalars()
    )


def monday_van() -> Slot:
    return db.session.execute(
        select(Slot).where(Slot.day == MONDAY, Slot.vehicle == Vehicle.VAN)
    ).scalar_one()


def book_slot(slot: Slot, **parcel):
    p = factories.make_parcel(**parcel)
    delivery.choose(p, delivery.ChoiceRequest(ChoiceType.SLOT, slot_id=slot.id))
    db.session.commit()
    return p


def book_point(point: PickupPoint, **parcel):
    p = factories.make_parcel(**parcel)
    kind = ChoiceType.LOCKER if point.is_locker else ChoiceType.PICKUP_POINT
    delivery.choose(p, delivery.ChoiceRequest(kind, pickup_point_id=point.id))
    db.session.commit()
    return p


def point_named(name: str) -> PickupPoint:
    db.session.rollback()
    return db.session.execute(select(PickupPoint).where(PickupPoint.name == name)).scalar_one()


def point_form(point: PickupPoint, version: str, **changes) -> dict:
    data = {
        "name": point.name,
        "point_type": "locker" if point.is_locker else "pickup_point",
        "carrier_id": str(point.carrier_id or ""),
        "external_id": point.external_id or "",
        "address_line": point.address_line,
        "postcode": point.postcode,
        "city": point.city,
        "country": point.country,
        "latitude": str(point.latitude),
        "longitude": str(point.longitude),
        "opening_hours": point.opening_hours,
        "locker_capacity": str(point.locker_capacity) if point.is_locker else "",
        "version": version,
    }
    data.update(changes)
    return data


# --- who may -----------------------------------------------------------------------------------


def test_agents_get_403_and_no_menu_entry(client, zone):
    login(client, factories.make_agent())
    assert "Network" not in page_text(client.get("/admin/"))
    for url in (
        "/admin/network",
        f"/admin/network/zones/{zone.id}",
        f"/admin/network/zones/{zone.id}/slots",
        "/admin/network/points",
        "/admin/network/carriers",
        "/admin/network/import",
        "/admin/network/export/zones.csv",
    ):
        assert client.get(url).status_code == 403, url
    res = post(client, "/admin/network/carriers", {"name": "Sneaky"})
    assert res.status_code == 403
    assert db.session.scalar(select(func.count(Carrier.id))) == 0


def test_supervisors_find_the_network_in_the_menu(supervisor, zone):
    home = supervisor.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/network"' in home
    page = page_text(supervisor.get("/admin/network"))
    # Stockholm: one prefix, Tuesday green day, 18:00 cutoff; next 7 days from Thursday 26 Nov:
    # Thu, Fri, Mon, Tue, Wed, two slots each (van 3 + bike 2).
    assert "Stockholm SE Europe/Stockholm 1 Tuesday 18:00 10 0 of 25" in page


# --- zones -------------------------------------------------------------------------------------


def test_supervisor_adds_and_edits_a_zone(supervisor, sara):
    res = post(
        supervisor,
        "/admin/network/zones/new",
        {
            "name": "Uppsala",
            "country": "se",
            "time_zone": "Europe/Stockholm",
            "green_weekday": "2",
            "cutoff": "17:00",
        },
    )
    assert res.status_code == 303
    zone = db.session.execute(select(Zone).where(Zone.name == "Uppsala")).scalar_one()
    assert (zone.country, zone.green_weekday, zone.cutoff) == ("SE", 2, time(17))
    [created] = audit("network.zone.create")
    assert created.actor == sara.email and created.subject == f"zone:{zone.id}"
    assert created.after["cutoff"] == "17:00"

    url = f"/admin/network/zones/{zone.id}"
    page = supervisor.get(url).get_data(as_text=True)
    form = {
        "name": "Uppsala",
        "country": "SE",
        "time_zone": "Europe/Stockholm",
        "green_weekday": "",
        "cutoff": "16:00",
        "version": version_in(page),
    }
    assert post(supervisor, url, form).status_code == 303
    [updated] = audit("network.zone.update")
    assert updated.before == {"green_weekday": "Wednesday", "cutoff": "17:00", "version": 1}
    assert updated.after == {"green_weekday": None, "cutoff": "16:00", "version": 2}

    # A time zone that isn't one is refused in place, nothing saved.
    res = post(supervisor, url, {**form, "time_zone": "Europe/Uppsala", "version": "2"})
    assert res.status_code == 422
    assert "Give a time zone name from the IANA database" in page_text(res)
    assert 'value="Europe/Uppsala"' in res.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(Zone, zone.id).time_zone == "Europe/Stockholm"


def test_saving_a_zone_unchanged_writes_nothing_and_a_stale_save_is_refused(
    client, app, sara, zone
):
    ann = factories.make_agent("ann@example.com", role=Role.SUPERVISOR)
    other = app.test_client()
    login(client, sara)
    login(other, ann)
    url = f"/admin/network/zones/{zone.id}"
    form = {
        "name": "Stockholm",
        "country": "SE",
        "time_zone": "Europe/Stockholm",
        "green_weekday": "1",
        "cutoff": "18:00",
        "version": version_in(client.get(url).get_data(as_text=True)),
    }
    res = post(client, url, form)
    assert "Nothing changed." in page_text(client.get(res.location))
    assert audit("network.zone.update") == []
    assert db.session.get(Zone, zone.id).version == 1

    assert post(other, url, {**form, "cutoff": "15:00"}).status_code == 303
    res = post(client, url, {**form, "name": "Stockholm City"})
    assert res.status_code == 409
    assert (
        "Agent Aino (ann@example.com) saved it at 2026-11-26 09:00 UTC: cutoff 18:00 → 15:00"
        in (page_text(res))
    )
    db.session.rollback()
    assert (db.session.get(Zone, zone.id).name, db.session.get(Zone, zone.id).cutoff) == (
        "Stockholm",
        time(15),
    )


def test_zone_names_and_countries_are_checked(supervisor, zone):
    base = {"time_zone": "Europe/Oslo", "green_weekday": "", "cutoff": "18:00"}
    res = post(
        supervisor, "/admin/network/zones/new", {**base, "name": "stockholm", "country": "NO"}
    )
    assert res.status_code == 422
    assert "Another zone already has this name." in page_text(res)
    res = post(supervisor, "/admin/network/zones/new", {**base, "name": "Oslo", "country": "XX"})
    assert "Give a two-letter country code" in page_text(res)
    res = post(
        supervisor,
        "/admin/network/zones/new",
        {**base, "name": "Oslo", "country": "NO", "cutoff": "25:00"},
    )
    assert "Give the time as HH:MM." in page_text(res)
    assert db.session.scalar(select(func.count(Zone.id))) == 1


def test_prefixes_are_added_with_their_centre_and_removed(supervisor, zone):
    url = f"/admin/network/zones/{zone.id}/prefixes"
    res = post(supervisor, url, {"prefix": "114 ", "latitude": "59.34", "longitude": "18.07"})
    assert res.status_code == 303 and res.location.endswith("#prefixes")
    prefix = db.session.execute(
        select(ZonePostcodePrefix).where(ZonePostcodePrefix.prefix == "114")
    ).scalar_one()
    assert (prefix.latitude, prefix.longitude) == (59.34, 18.07)
    assert audit("network.prefix.add")[0].after == {
        "prefix": "114",
        "latitude": 59.34,
        "longitude": 18.07,
    }

    prefix_id = prefix.id
    res = post(supervisor, url, {"prefix": "113", "latitude": "", "longitude": ""})
    assert res.status_code == 422
    assert "113 (SE) is in this zone already." in page_text(res)
    res = post(supervisor, url, {"prefix": "115", "latitude": "59.3", "longitude": ""})
    assert "Give both coordinates of the centre, or neither." in page_text(res)

    res = post(supervisor, f"{url}/{prefix_id}/remove")
    assert res.status_code == 303
    db.session.rollback()
    assert db.session.get(ZonePostcodePrefix, prefix_id) is None
    assert audit("network.prefix.remove")[0].before["prefix"] == "114"


def test_a_closed_day_with_bookings_is_confirmed_and_the_recipients_told(supervisor, zone):
    parcel = book_slot(monday_van())
    url = f"/admin/network/zones/{zone.id}/closed-days"
    form = {"day": MONDAY.isoformat(), "reason": "Staff training"}

    res = post(supervisor, url, form)
    assert res.status_code == 200
    page = res.get_data(as_text=True)
    assert f'href="/admin/parcels/{parcel.tracking_number}"' in page
    assert "1 parcel is booked on it." in page_text(page)
    assert "Delivery on Monday 30 November, 09:00-11:00" in page_text(page)
    # Nothing happened yet.
    assert db.session.scalar(select(func.count(ClosedDay.id))) == 0
    assert withdrawn_messages(parcel) == []

    confirmed = re.search(r'name="confirmed" value="([^"]*)"', page).group(1)
    res = post(supervisor, url, {**form, "confirmed": confirmed})
    assert res.status_code == 303
    flashed = page_text(supervisor.get(res.location))
    assert "Closed Stockholm on Monday 2026-11-30. 1 booking was withdrawn" in flashed
    db.session.rollback()
    assert db.session.execute(select(ClosedDay.reason)).scalar_one() == "Staff training"
    assert monday_van().closed_at is not None and monday_van().booked == 0
    [message, *_] = withdrawn_messages(parcel)
    assert "Staff training" in message.body
    [entry] = audit("network.day.close")
    assert entry.after == {
        "day": "2026-11-30",
        "reason": "Staff training",
        "withdrawn": [parcel.tracking_number],
    }
    [withdraw] = audit("network.withdraw")
    assert withdraw.parcel_id == parcel.id and withdraw.subject == f"zone:{zone.id}"


def test_a_booking_made_after_the_list_was_shown_asks_again(supervisor, zone):
    first = book_slot(monday_van())
    url = f"/admin/network/zones/{zone.id}/closed-days"
    form = {"day": MONDAY.isoformat(), "reason": "Strike"}
    page = post(supervisor, url, form).get_data(as_text=True)
    confirmed = re.search(r'name="confirmed" value="([^"]*)"', page).group(1)
    second = book_slot(monday_van(), email="other@example.com")

    res = post(supervisor, url, {**form, "confirmed": confirmed})
    assert res.status_code == 200
    assert "2 parcels are booked on it." in page_text(res)
    assert second.tracking_number in page_text(res) and first.tracking_number in page_text(res)
    assert db.session.scalar(select(func.count(ClosedDay.id))) == 0


def test_a_closed_day_without_bookings_closes_at_once_and_reopens(supervisor, zone):
    zone_page = f"/admin/network/zones/{zone.id}"
    res = post(
        supervisor,
        f"{zone_page}/closed-days",
        {"day": "2026-12-01", "reason": "Inventory"},
    )
    assert res.status_code == 303
    day = db.session.execute(select(ClosedDay)).scalar_one()
    day_id, closed = day.id, day.day
    assert "Inventory" in page_text(supervisor.get(zone_page))
    assert all(
        s.closed_at for s in db.session.execute(select(Slot).where(Slot.day == closed)).scalars()
    )

    res = post(supervisor, f"{zone_page}/closed-days/{day_id}/remove")
    assert res.status_code == 303
    db.session.rollback()
    assert db.session.scalar(select(func.count(ClosedDay.id))) == 0
    assert not any(
        s.closed_at for s in db.session.execute(select(Slot).where(Slot.day == closed)).scalars()
    )
    assert [e.before for e in audit("network.day.reopen")] == [
        {"day": "2026-12-01", "reason": "Inventory"}
    ]

    # A day in the past can't be closed.
    res = post(supervisor, f"{zone_page}/closed-days", {"day": "2026-11-25", "reason": "x"})
    assert res.status_code == 422
    assert "That day is over" in page_text(res)


# --- slot templates ------------------------------------------------------------------------------


def test_a_new_template_makes_its_slots(supervisor, zone):
    res = post(
        supervisor,
        f"/admin/network/zones/{zone.id}/templates",
        {
            "weekday": "5",
            "start_time": "10:00",
            "end_time": "14:00",
            "vehicle": "van",
            "capacity": "8",
        },
    )
    assert res.status_code == 303
    template = db.session.execute(
        select(SlotTemplate).where(SlotTemplate.weekday == 5)
    ).scalar_one()
    saturdays = (
        db.session.execute(select(Slot).where(Slot.template_id == template.id)).scalars().all()
    )
    assert [s.day for s in saturdays] == [date(2026, 11, 28), date(2026, 12, 5)]
    assert {s.capacity for s in saturdays} == {8}
    assert audit("network.template.create")[0].after["start_time"] == "10:00"

    # The same window twice is refused, with the reason on the field.
    res = post(
        supervisor,
        f"/admin/network/zones/{zone.id}/templates",
        {
            "weekday": "5",
            "start_time": "10:00",
            "end_time": "12:00",
            "vehicle": "van",
            "capacity": "2",
        },
    )
    assert res.status_code == 422
    assert "has a van window at 10:00 on Saturdays already" in page_text(res)


def test_lowering_a_templates_capacity_keeps_the_booked_slots_bookings(supervisor, zone):
    slot = monday_van()
    template = db.session.get(SlotTemplate, slot.template_id)
    book_slot(slot)
    book_slot(slot, email="b@example.com")
    url = f"/admin/network/templates/{template.id}"
    page = supervisor.get(url).get_data(as_text=True)
    assert "booked slots keep their bookings" in page_text(page)

    res = post(supervisor, url, {"end_time": "11:00", "capacity": "1", "version": version_in(page)})
    assert res.status_code == 303
    told = page_text(supervisor.get(res.location))
    assert (
        "These keep all their bookings, more than the new capacity: Mon 2026-11-30 (2 booked)"
        in told
    )
    db.session.rollback()
    slot = monday_van()
    assert (slot.capacity, slot.booked) == (2, 2)  # full, and nobody lost a booking
    others = (
        db.session.execute(
            select(Slot.capacity).where(
                Slot.template_id == template.id, Slot.day > date(2026, 11, 26), Slot.id != slot.id
            )
        )
        .scalars()
        .all()
    )
    assert others and set(others) == {1}
    [entry] = audit("network.template.update")
    assert entry.before == {"capacity": 3, "version": 1}
    assert entry.after == {"capacity": 1, "version": 2}


def test_two_supervisors_editing_one_template_never_overwrite_each_other(client, app, sara, zone):
    ann = factories.make_agent("ann@example.com", role=Role.SUPERVISOR)
    other = app.test_client()
    login(client, sara)
    login(other, ann)
    template = db.session.get(SlotTemplate, monday_van().template_id)
    url = f"/admin/network/templates/{template.id}"
    sara_page = client.get(url).get_data(as_text=True)
    ann_page = other.get(url).get_data(as_text=True)

    res = post(other, url, {"end_time": "12:00", "capacity": "5", "version": version_in(ann_page)})
    assert res.status_code == 303

    res = post(
        client, url, {"end_time": "11:00", "capacity": "7", "version": version_in(sara_page)}
    )
    assert res.status_code == 409
    said = page_text(res)
    assert "Someone changed this slot template after you opened it." in said
    assert (
        "Agent Aino (ann@example.com) saved it at 2026-11-26 09:00 UTC: "
        "end 11:00 → 12:00, capacity 3 → 5" in said
    )
    assert "Nothing of yours was saved." in said
    page = res.get_data(as_text=True)
    assert 'value="7"' in page  # Sara's own value is still in the form
    assert version_in(page) == "2"
    db.session.rollback()
    template = db.session.get(SlotTemplate, template.id)
    assert (template.capacity, template.end_time, template.version) == (5, time(12), 2)

    # Saving again is a decision made knowing what changed.
    res = post(client, url, {"end_time": "12:00", "capacity": "7", "version": "2"})
    assert res.status_code == 303
    db.session.rollback()
    assert db.session.get(SlotTemplate, template.id).capacity == 7


def test_a_save_racing_another_commit_is_refused_by_the_version_column(app, sara, zone):
    """Both read version 1; the other's UPDATE commits first; this UPDATE matches no row
    (StaleDataError) and comes back as the same EditConflict."""
    template = db.session.get(SlotTemplate, monday_van().template_id)
    assert template.version == 1
    db.session.execute(
        text("UPDATE slot_template SET capacity = 9, version = 2 WHERE id = :id"),
        {"id": template.id},
    )
    with pytest.raises(EditConflict) as caught:
        slots.update_template(sara, template, 1, time(11), 4)
    assert caught.value.version == 2
    assert "Now: capacity 9." in caught.value.message
    db.session.rollback()


def test_removing_a_template_keeps_booked_slots(supervisor, zone):
    slot = monday_van()
    template_id = slot.template_id
    parcel = book_slot(slot)
    url = f"/admin/network/templates/{template_id}"
    page = supervisor.get(url).get_data(as_text=True)
    # The form's token from the page the test already has in hand.
    form = {"csrf_token": csrf_token(page), "version": version_in(page)}
    res = supervisor.post(f"{url}/remove", data=form)
    assert res.status_code == 303
    assert "1 booked ones stay with their bookings" in page_text(supervisor.get(res.location))
    db.session.rollback()
    assert db.session.get(SlotTemplate, template_id) is None
    slot = monday_van()
    assert (slot.booked, slot.template_id) == (1, None)
    assert slot.closed_at is not None  # closed to new bookings, the one booked kept
    assert delivery.current_choice(parcel).slot_id == slot.id
    assert audit("network.template.remove")[0].before["weekday"] == "Monday"


# --- dated slots ---------------------------------------------------------------------------------


def test_closing_a_booked_slot_lists_the_parcels_then_tells_the_recipients(supervisor, zone):
    slot = monday_van()
    parcel = book_slot(slot)
    slots_page = f"/admin/network/zones/{zone.id}/slots"
    listing = page_text(supervisor.get(slots_page))
    assert "Mon 2026-11-30 09:00-11:00 Van 1 3 open" in listing

    url = f"/admin/network/slots/{slot.id}/close"
    res = post(supervisor, url, {"reason": ""})
    assert res.status_code == 422
    assert "Give the reason." in page_text(res)

    res = post(supervisor, url, {"reason": "Van in repair"})
    assert res.status_code == 200
    page = res.get_data(as_text=True)
    assert f'<a href="/admin/parcels/{parcel.tracking_number}">{parcel.tracking_number}</a>' in page
    assert withdrawn_messages(parcel) == []
    assert monday_van().closed_at is None

    confirmed = re.search(r'name="confirmed" value="([^"]*)"', page).group(1)
    res = post(supervisor, url, {"reason": "Van in repair", "confirmed": confirmed})
    assert res.status_code == 303
    db.session.rollback()
    slot = monday_van()
    assert slot.closed_reason == "Van in repair" and slot.booked == 0
    assert delivery.current_choice(parcel) is None
    assert [n.trigger for n in withdrawn_messages(parcel)] == ["choice_withdrawn"] * len(
        withdrawn_messages(parcel)
    )
    assert withdrawn_messages(parcel)
    [entry] = audit("network.slot.close")
    assert entry.after["withdrawn"] == [parcel.tracking_number]

    res = post(supervisor, f"/admin/network/slots/{slot.id}/reopen")
    assert res.status_code == 303
    db.session.rollback()
    assert monday_van().closed_at is None
    assert audit("network.slot.reopen")


def test_closing_an_unbooked_slot_needs_no_confirmation(supervisor, zone):
    slot = monday_van()
    res = post(
        supervisor,
        f"/admin/network/slots/{slot.id}/close",
        {"reason": "Road works"},
    )
    assert res.status_code == 303
    db.session.rollback()
    assert monday_van().closed_at is not None


# --- pickup points and lockers -------------------------------------------------------------------


def test_points_are_listed_filtered_and_paged(supervisor, zone):
    bring = factories.make_carrier("Bring")
    for n in range(60):
        db.session.add(
            PickupPoint(
                carrier_id=bring.id,
                external_id=f"B-{n:03d}",
                name=f"Bring point {n:03d}",
                address_line="Storgatan 1",
                postcode="113 50",
                city="Stockholm",
                latitude=59.34,
                longitude=18.05,
                opening_hours="Mo-Fr 08:00-20:00",
                zone_id=zone.id,
            )
        )
    db.session.commit()
    point_named("Near Shop").closed_from = date(2026, 11, 20)
    db.session.commit()

    page = page_text(supervisor.get("/admin/network/points"))
    assert "63 points: page 1 of 2" in page and "Next page" in page
    page = page_text(supervisor.get(f"/admin/network/points?carrier={bring.id}&page=2"))
    assert "60 points: page 2 of 2" in page and "Bring point 059" in page
    assert "Bring point 000" not in page
    page = page_text(supervisor.get("/admin/network/points?state=closed"))
    assert "1 point" in page and "Near Shop" in page
    page = page_text(supervisor.get("/admin/network/points?q=B-007"))
    assert "1 point" in page and "Bring point 007" in page
    page = page_text(supervisor.get("/admin/network/points?q=locker"))
    assert "Box Locker" in page and "Open now · closes 20:00" in page


def test_supervisor_adds_a_locker_with_checked_hours(supervisor, zone, sara):
    bring = factories.make_carrier("Bring")
    data = {
        "name": "Odenplan Locker",
        "point_type": "locker",
        "carrier_id": str(bring.id),
        "external_id": "BR-1",
        "address_line": "Odenplan 1",
        "postcode": "113 22",
        "city": "Stockholm",
        "country": "SE",
        "latitude": "59.343",
        "longitude": "18.049",
        "opening_hours": "Mo-Fr 8-20 or so",
        "locker_capacity": "12",
    }
    res = post(supervisor, "/admin/network/points/new", data)
    assert res.status_code == 422
    assert "These opening hours don't parse: write them as OpenStreetMap does" in page_text(res)
    assert 'value="Odenplan Locker"' in res.get_data(as_text=True)

    res = post(supervisor, "/admin/network/points/new", {**data, "opening_hours": "24/7"})
    assert res.status_code == 303
    point = point_named("Odenplan Locker")
    assert (point.zone_id, point.locker_capacity, point.is_locker) == (zone.id, 12, True)
    [entry] = audit("network.point.create")
    assert entry.after["external_id"] == "BR-1" and entry.actor == sara.email
    page = page_text(supervisor.get(res.location))
    assert "Open now · open round the clock" in page

    res = post(supervisor, "/admin/network/points/new", {**data, "opening_hours": "24/7"})
    assert "Bring has a point with the id BR-1 already." in page_text(res)


def test_a_lockers_capacity_never_goes_below_what_is_booked(supervisor, zone):
    locker = point_named("Box Locker")
    locker.locker_capacity = 3
    db.session.commit()
    book_point(locker)
    book_point(locker, email="b@example.com")
    url = f"/admin/network/points/{locker.id}"
    page = supervisor.get(url).get_data(as_text=True)
    res = post(supervisor, url, point_form(locker, version_in(page), locker_capacity="1"))
    assert res.status_code == 422
    assert "2 compartments are booked: the capacity can't go below 2." in page_text(res)
    res = post(supervisor, url, point_form(locker, version_in(page), point_type="pickup_point"))
    assert "it stays a locker" in page_text(res)
    res = post(supervisor, url, point_form(locker, version_in(page), locker_capacity="2"))
    assert res.status_code == 303
    [entry] = audit("network.point.update")
    # Bookings reserve compartments without a new version: only edits make one.
    assert entry.before == {"locker_capacity": 3, "version": 2}
    assert entry.after == {"locker_capacity": 2, "version": 3}


def test_closing_a_booked_locker_is_confirmed_and_reopening_is_audited(supervisor, zone):
    locker = point_named("Box Locker")
    parcel = book_point(locker)
    url = f"/admin/network/points/{locker.id}"
    form = {"closed_from": "2026-11-27", "closed_until": "", "reason": "Vandalised"}
    res = post(supervisor, f"{url}/close", form)
    assert res.status_code == 200
    assert "Close Box Locker from 2026-11-27 for good?" in page_text(res)
    assert parcel.tracking_number in page_text(res)
    assert point_named("Box Locker").closed_from is None

    confirmed = re.search(r'name="confirmed" value="([^"]*)"', res.get_data(as_text=True)).group(1)
    res = post(supervisor, f"{url}/close", {**form, "confirmed": confirmed})
    assert res.status_code == 303
    locker = point_named("Box Locker")
    assert (locker.closed_from, locker.closed_until, locker.lockers_reserved) == (
        date(2026, 11, 27),
        None,
        0,
    )
    assert withdrawn_messages(parcel)
    [entry] = audit("network.point.close")
    assert entry.after["closed_from"] == "2026-11-27" and entry.after["withdrawn"] == [
        parcel.tracking_number
    ]
    assert "closed for good from 2026-11-27: Vandalised" in page_text(supervisor.get(url))

    res = post(supervisor, f"{url}/reopen")
    assert res.status_code == 303
    assert point_named("Box Locker").closed_from is None
    assert audit("network.point.reopen")[0].before["closed_reason"] == "Vandalised"


def test_a_closure_for_a_period_checks_its_days(supervisor, zone):
    point = point_named("Near Shop")
    url = f"/admin/network/points/{point.id}"
    res = post(
        supervisor,
        f"{url}/close",
        {"closed_from": "2026-12-10", "closed_until": "2026-12-01", "reason": "Renovation"},
    )
    assert res.status_code == 422
    assert "The last closed day is before the first." in page_text(res)
    res = post(
        supervisor,
        f"{url}/close",
        {"closed_from": "2026-12-01", "closed_until": "2026-12-10", "reason": "Renovation"},
    )
    assert res.status_code == 303  # nobody booked: closed at once
    point = point_named("Near Shop")
    assert (point.closed_from, point.closed_until) == (date(2026, 12, 1), date(2026, 12, 10))


def test_two_edits_of_one_point_second_is_refused(client, app, sara, zone):
    ann = factories.make_agent("ann@example.com", role=Role.SUPERVISOR)
    other = app.test_client()
    login(client, sara)
    login(other, ann)
    point = point_named("Near Shop")
    url = f"/admin/network/points/{point.id}"
    old = version_in(client.get(url).get_data(as_text=True))
    assert post(other, url, point_form(point, old, name="Near Shop Vasastan")).status_code == 303
    res = post(client, url, point_form(point, old, city="Solna"))
    assert res.status_code == 409
    assert "ann@example.com" in page_text(
        res
    ) and "name Near Shop → Near Shop Vasastan" in page_text(res)
    point = point_named("Near Shop Vasastan")
    assert point.city == "Stockholm"


# --- carriers ------------------------------------------------------------------------------------


def test_carriers_are_listed_with_their_points_and_added(supervisor, zone):
    bring = factories.make_carrier("Bring")
    point = point_named("Near Shop")
    point.carrier_id, point.external_id = bring.id, "B-1"
    db.session.commit()
    assert "Bring 1 1" in page_text(supervisor.get("/admin/network/carriers"))
    res = post(supervisor, "/admin/network/carriers", {"name": "  Budbee "})
    assert res.status_code == 303
    assert db.session.execute(select(Carrier.name).where(Carrier.name == "Budbee")).scalar_one()
    assert audit("network.carrier.create")[0].after == {"name": "Budbee"}
    res = post(supervisor, "/admin/network/carriers", {"name": "bring"})
    assert res.status_code == 422 and "A carrier has this name already." in page_text(res)


# --- import and export ---------------------------------------------------------------------------

ZONES_CSV = (
    "zone,country,time_zone,postcode_prefix,latitude,longitude,green_weekday,cutoff\n"
    "Göteborg,SE,Europe/Stockholm,41,57.70,11.97,We,17:00\n"
    "Göteborg,SE,Europe/Stockholm,42,,,We,17:00\n"
)


def upload(client, kind: str, data: str | bytes, filename: str, **extra):
    body = data.encode() if isinstance(data, str) else data
    return post(
        client,
        "/admin/network/import",
        {"kind": kind, "file": (io.BytesIO(body), filename), **extra},
        content_type="multipart/form-data",
    )


def test_import_preview_writes_nothing_and_apply_writes(supervisor, sara):
    res = upload(supervisor, "zones", ZONES_CSV, "zones.csv")
    assert res.status_code == 200
    said = page_text(res)
    assert "Preview: zones.csv" in said
    assert "Created 2 Updated 0 Unchanged 0 Closed 0" in said
    assert db.session.scalar(select(func.count(Zone.id))) == 0

    res = post(supervisor, "/admin/network/import/apply")
    assert res.status_code == 303
    assert "Imported zones.csv (Zones and postcode prefixes (zones.csv)): 2 created" in page_text(
        supervisor.get(res.location)
    )
    zone = db.session.execute(select(Zone)).scalar_one()
    assert (zone.name, zone.green_weekday, zone.cutoff) == ("Göteborg", 2, time(17))
    [entry] = audit("network.import")
    assert entry.actor == sara.email and entry.subject == "network:zones"
    assert (entry.after["file"], entry.after["created"]) == ("zones.csv", 2)

    # The staged file was used up: applying again has nothing to apply.
    res = post(supervisor, "/admin/network/import/apply")
    assert "There is no previewed file to apply" in page_text(supervisor.get(res.location))
    assert len(audit("network.import")) == 1


def test_a_bad_file_lists_every_bad_line_and_imports_nothing(supervisor, zone):
    bad = (
        "zone,weekday,start,end,vehicle,capacity\n"
        "Stockholm,Mo,09:00,11:00,van,3\n"
        "Stockholm,Xx,09:00,11:00,van,3\n"
        "Stockholm,Tu,12:00,11:00,truck,-1\n"
    )
    res = upload(supervisor, "slots", bad, "slot_templates.csv")
    assert res.status_code == 422
    said = page_text(res)
    assert "line 3: weekday: 'Xx' is not one of Mo, Tu, We, Th, Fr, Sa, Su" in said
    assert "line 4: vehicle: 'truck' is not van or cargo_bike" in said
    assert "line 4: capacity: '-1' is not a whole number" in said
    assert "line 4: end: 11:00 is not after the start 12:00" in said
    assert "Apply" not in said
    res = post(supervisor, "/admin/network/import/apply")
    assert res.status_code == 303
    assert audit("network.import") == []


def test_an_import_closing_a_booked_locker_shows_the_parcel_and_tells_the_recipient(
    supervisor, zone
):
    bring = factories.make_carrier("Bring")
    locker = point_named("Box Locker")
    locker.carrier_id, locker.external_id = bring.id, "BOX-1"
    db.session.commit()
    parcel = book_point(locker)
    csv_text = (
        "external_id,carrier,name,type,address_line,postcode,city,country,latitude,longitude,"
        "opening_hours,capacity\n"
        "NEW-1,Bring,Vasa Kiosk,pickup_point,Vasagatan 1,113 50,Stockholm,SE,59.34,18.05,"
        "Mo-Fr 08:00-18:00,\n"
    )
    res = upload(supervisor, "pickup-points", csv_text, "bring.csv", close_missing="y")
    assert res.status_code == 200
    said = page_text(res)
    assert "Created 1 Updated 0 Unchanged 0 Closed 1" in said
    assert f"Locker: Box Locker, Box Locker street 1 {parcel.tracking_number}" in said
    assert "Apply and tell 1 recipient" in said
    assert point_named("Box Locker").closed_from is None
    assert withdrawn_messages(parcel) == []

    res = post(supervisor, "/admin/network/import/apply")
    assert res.status_code == 303
    assert point_named("Box Locker").closed_for_good
    assert withdrawn_messages(parcel)
    [entry] = audit("network.import")
    assert entry.after["withdrawn"] == [parcel.tracking_number] and entry.after["closed"] == 1
    assert [e.parcel_id for e in audit("network.withdraw")] == [parcel.id]


def test_apply_refuses_when_the_network_changed_since_the_preview(supervisor, sara):
    upload(supervisor, "zones", ZONES_CSV, "zones.csv")
    # Meanwhile someone puts 41 in another zone: the file would now move it, not create it.
    malmo = zones.create_zone(
        sara, zones.ZoneValues("Malmö", "SE", "Europe/Stockholm", None, time(18))
    )
    zones.add_prefix(sara, malmo, "41")
    db.session.commit()
    res = post(supervisor, "/admin/network/import/apply")
    assert res.status_code == 409
    said = page_text(res)
    assert "The network changed since your preview" in said
    assert "Created 1 Updated 1 Unchanged 0" in said
    assert audit("network.import") == []
    assert db.session.scalar(select(func.count(Zone.id))) == 1

    # The new preview is what Apply now stands for.
    res = post(supervisor, "/admin/network/import/apply")
    assert res.status_code == 303
    assert audit("network.import")[0].after["updated"] == 1


def test_exports_download_each_kind(supervisor, zone):
    res = supervisor.get("/admin/network/export/zones.csv")
    assert res.status_code == 200 and res.mimetype == "text/csv"
    assert res.headers["Content-Disposition"] == 'attachment; filename="zones.csv"'
    assert (
        res.get_data(as_text=True).splitlines()[1]
        == "Stockholm,SE,Europe/Stockholm,113,59.343,18.053,Tu,18:00"
    )
    res = supervisor.get("/admin/network/export/slots.csv")
    assert "Stockholm,Mo,09:00,11:00,van,3" in res.get_data(as_text=True)
    assert supervisor.get("/admin/network/export/pickup-points.csv").status_code == 200
    res = supervisor.get("/admin/network/export/pickup-points.geojson")
    assert res.mimetype == "application/geo+json" and res.json["type"] == "FeatureCollection"


def test_every_network_page_opens(supervisor, zone):
    template = db.session.execute(select(SlotTemplate)).scalars().first()
    point = point_named("Box Locker")
    for url in (
        "/admin/network",
        "/admin/network/zones/new",
        f"/admin/network/zones/{zone.id}",
        f"/admin/network/zones/{zone.id}/templates",
        f"/admin/network/zones/{zone.id}/slots",
        f"/admin/network/templates/{template.id}",
        "/admin/network/points",
        "/admin/network/points/new",
        f"/admin/network/points/{point.id}",
        "/admin/network/carriers",
        "/admin/network/import",
    ):
        res = supervisor.get(url)
        assert res.status_code == 200, url
        assert res.headers["Cache-Control"] == "private, no-store"
    assert supervisor.get("/admin/network/zones/999999").status_code == 404
    assert supervisor.get("/admin/network/points/0").status_code == 404


def test_a_confirmation_with_a_superscript_digit_asks_again(supervisor, zone):
    # "²".isdigit() is true, yet int("²") fails: the list must be shown again, not a 500.
    locker = point_named("Box Locker")
    parcel = book_point(locker)
    url = f"/admin/network/points/{locker.id}"
    form = {"closed_from": "2026-11-27", "closed_until": "", "reason": "Vandalised"}
    res = post(supervisor, f"{url}/close", {**form, "confirmed": "²"})
    assert res.status_code == 200
    assert "Close Box Locker from 2026-11-27 for good?" in page_text(res)
    assert parcel.tracking_number in page_text(res)
    assert point_named("Box Locker").closed_from is None


def test_a_template_with_a_non_ascii_number_is_refused_in_place(supervisor, zone):
    url = f"/admin/network/zones/{zone.id}/templates"
    form = {"start_time": "09:00", "end_time": "11:00", "vehicle": "van", "capacity": "٣"}
    res = post(supervisor, url, {**form, "weekday": "²"})
    assert res.status_code == 422
    assert "Give a whole number." in page_text(res)


def test_a_closure_more_than_five_years_ahead_is_refused_in_place(supervisor, zone):
    point = point_named("Near Shop")
    url = f"/admin/network/points/{point.id}"
    form = {"closed_from": "2026-12-01", "closed_until": "9999-12-31", "reason": "Renovation"}
    res = post(supervisor, f"{url}/close", form)
    assert res.status_code == 422
    assert "Give a last closed day within five years, or none to close the point for good." in (
        page_text(res)
    )
    res = post(supervisor, f"{url}/close", {**form, "closed_from": "9999-12-30"})
    assert res.status_code == 422
    assert "Close from a day within five years." in page_text(res)
    assert point_named("Near Shop").closed_from is None
    assert supervisor.get(url).status_code == 200
    assert supervisor.get("/admin/network/points").status_code == 200


def test_a_geojson_file_with_a_lone_surrogate_is_refused_in_the_preview(supervisor, zone):
    factories.make_carrier("Bring")
    db.session.commit()
    doc = (
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": '
        '{"type": "Point", "coordinates": [18.05, 59.34]}, "properties": {"external_id": "A", '
        '"carrier": "Bring", "name": "Kiosk \\ud800", "type": "pickup_point", '
        '"address_line": "Street 1", "postcode": "113 48", "city": "Stockholm", "country": "SE", '
        '"opening_hours": "24/7"}}]}'
    )
    res = upload(supervisor, "pickup-points", doc, "points.geojson")
    assert res.status_code == 422
    assert "feature 1: name: is not valid text" in page_text(res)


# What another supervisor saves between the import's reads and its writes.
RACES = {
    # A zone the file updates moves on to a new version: the import's UPDATE matches no row.
    "stale": "UPDATE zone SET version = version + 1",
    # A prefix the file adds is taken: the import's INSERT breaks the unique key.
    "duplicate": "INSERT INTO zone_postcode_prefix (zone_id, country, prefix) "
    "SELECT id, 'SE', '42' FROM zone",
}


@pytest.mark.parametrize("race", RACES)
def test_an_import_racing_another_edit_writes_nothing_and_says_so(
    supervisor, sara, monkeypatch, race
):
    gothenburg = zones.create_zone(
        sara, zones.ZoneValues("Göteborg", "SE", "Europe/Stockholm", 2, time(18))
    )
    zones.add_prefix(sara, gothenburg, "41")
    db.session.commit()
    res = upload(supervisor, "zones", ZONES_CSV, "zones.csv")
    assert "Created 1 Updated 1 Unchanged 0" in page_text(res)

    real_import = imports.import_zones

    def racing_import(rows, *, dry_run=False):
        if not dry_run:
            session = db.session()
            event.listen(
                session,
                "before_flush",
                lambda s, *_: s.connection().execute(text(RACES[race])),
                once=True,
            )
        return real_import(rows, dry_run=dry_run)

    # import_file looks import_zones up in imports.by_kind.
    monkeypatch.setattr(by_kind, "import_zones", racing_import)
    res = post(supervisor, "/admin/network/import/apply")
    assert res.status_code == 409
    assert (
        "Someone changed the network while your file was being applied, so nothing was "
        "imported" in page_text(res)
    )
    assert "Preview: zones.csv" in page_text(res)
    assert audit("network.import") == []
    assert db.session.get(Zone, gothenburg.id).cutoff == time(18)
    assert db.session.scalar(select(func.count(ZonePostcodePrefix.id))) == 1

    # Without the race, Apply goes through.
    monkeypatch.setattr(by_kind, "import_zones", real_import)
    res = post(supervisor, "/admin/network/import/apply")
    assert res.status_code == 303
    assert audit("network.import")[0].after["updated"] == 1
