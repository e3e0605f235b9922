"""A supervisor sets up a new delivery area from the console in a real browser (a zone with a
postcode prefix, a slot template, a carrier's locker); a recipient there books the locker; the
supervisor closes it, sees the parcel that would lose its booking, confirms, and the recipient
is asked by message to choose again. Screenshots of each Network page at phone and desktop
width go to test-artifacts/, and axe checks the steps the url-map walk can't reach (the
confirmation and an import preview)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.extensions import db
from portal.models import (
    ChoiceType,
    Notification,
    ParcelStatus,
    PickupPoint,
    Role,
    Slot,
    SlotTemplate,
    Zone,
)
from portal.services import delivery
from tests.support import factories
from tests.support.axe import check_a11y
from tests.support.browser import DESKTOP, PHONE, log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.committed]  # a live server reads the data
STOCKHOLM = ZoneInfo("Europe/Stockholm")
NEXT_FRAME = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def shoot(page: Page, name: str, *, js: bool = True) -> None:
    """The page as it is, at desktop and at phone width (then back to desktop)."""
    for width, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        if js:  # laid out again at the new width before the picture (no frames without JS)
            page.evaluate(NEXT_FRAME)
            # Wide tables scroll in their own box; the page itself never scrolls sideways.
            assert page.evaluate("document.documentElement.scrollWidth") <= size["width"], name
        screenshot(page, f"network-{name}-{width}")
    page.set_viewport_size(DESKTOP)


def fresh(model, **where):
    db.session.rollback()  # the live server committed in its own thread
    query = select(model).filter_by(**where)
    return db.session.execute(query).scalar_one()


def test_supervisor_sets_up_an_area_and_closing_its_locker_asks_the_recipient_again(
    browser, live_server
):
    supervisor = factories.make_agent("sara@example.com", role=Role.SUPERVISOR)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    log_in(page, live_server, supervisor, "/admin/network")
    expect(page.get_by_role("heading", name="Zones")).to_be_visible()
    expect(page.get_by_role("link", name="Network")).to_have_attribute("aria-current", "page")

    # A carrier, then a zone with its postcode prefix.
    page.get_by_role("link", name="Carriers").click()
    page.get_by_label("Name", exact=True).fill("Bring")
    page.get_by_role("button", name="Add carrier").click()
    expect(page.get_by_role("status")).to_have_text("Added the carrier Bring.")
    shoot(page, "carriers")

    page.get_by_role("link", name="Zones", exact=True).click()
    page.get_by_role("link", name="Add a zone").click()
    page.get_by_label("Name", exact=True).fill("Solna")
    page.get_by_label("Time zone", exact=True).fill("Europe/Stockholm")
    page.get_by_label("Green day", exact=True).select_option(label="Wednesday")
    page.get_by_role("button", name="Add zone").click()
    expect(page.get_by_role("heading", name="Zone Solna")).to_be_visible()
    page.get_by_label("Postcode prefix", exact=True).fill("169")
    page.get_by_label("Centre latitude", exact=True).fill("59.3600")
    page.get_by_label("Centre longitude", exact=True).fill("18.0000")
    page.get_by_role("button", name="Add prefix").click()
    expect(page.get_by_role("status")).to_have_text("Added 169 to Solna.")
    expect(page.locator("#prefixes")).to_contain_text("59.3600, 18.0000")
    shoot(page, "zone")

    # A weekly window; its dated slots appear at once.
    page.get_by_role("link", name="Slot templates").click()
    weekday = (datetime.now(STOCKHOLM).date() + timedelta(days=3)).strftime("%A")
    page.get_by_label("Weekday", exact=True).select_option(label=weekday)
    page.get_by_label("Start", exact=True).fill("17:00")
    page.get_by_label("End", exact=True).fill("21:00")
    page.get_by_label("Vehicle", exact=True).select_option(label="Cargo bike")
    page.get_by_label("Capacity", exact=True).fill("6")
    page.get_by_role("button", name="Add template").click()
    expect(page.get_by_role("status")).to_contain_text(f"Added {weekday} 17:00-21:00")
    shoot(page, "templates")
    page.get_by_role("link", name=f"Edit {weekday} 17:00-21:00 cargo bike").click()
    shoot(page, "template")
    page.get_by_role("link", name="Dated slots").click()
    expect(page.locator("table.data").first).to_contain_text("17:00-21:00")
    shoot(page, "slots")

    # The carrier's locker, with opening hours checked as they are typed in.
    page.get_by_role("link", name="Pickup points and lockers").click()
    page.get_by_role("link", name="Add a pickup point or locker").click()
    page.get_by_label("Name", exact=True).fill("Solna Centrum Locker")
    page.get_by_label("Type", exact=True).select_option(label="Locker")
    page.get_by_label("Carrier", exact=True).select_option(label="Bring")
    page.get_by_label("External id", exact=True).fill("BR-SOL-1")
    page.get_by_label("Street address", exact=True).fill("Solna torg 3")
    page.get_by_label("Postcode", exact=True).fill("169 70")
    page.get_by_label("City", exact=True).fill("Solna")
    page.get_by_label("Latitude", exact=True).fill("59.3601")
    page.get_by_label("Longitude", exact=True).fill("18.0003")
    page.get_by_label("Opening hours", exact=True).fill("every day 6 to 23")
    page.get_by_label("Compartments", exact=True).fill("10")
    page.get_by_role("button", name="Add point").click()
    expect(page.get_by_text("These opening hours don't parse")).to_be_visible()
    shoot(page, "point-error")
    page.get_by_label("Opening hours", exact=True).fill("Mo-Su 06:00-23:00")
    page.get_by_role("button", name="Add point").click()
    expect(page.get_by_role("heading", name="Solna Centrum Locker")).to_be_visible()
    expect(page.locator(".kv")).to_contain_text("Solna")
    locker = fresh(PickupPoint, name="Solna Centrum Locker")
    assert locker.zone_id == fresh(Zone, name="Solna").id and locker.locker_capacity == 10
    shoot(page, "point")

    # A recipient in Solna books the locker on their own delivery page.
    parcel = factories.make_parcel(
        postcode="169 70", city="Solna", statuses=[ParcelStatus.PICKED_UP, ParcelStatus.IN_TRANSIT]
    )
    recipient = browser.new_context(viewport=PHONE).new_page()
    recipient.goto(f"{live_server}/l/{factories.make_link(parcel)}")
    recipient.goto(f"{live_server}/t/{parcel.tracking_number}/delivery")
    recipient.get_by_label("Solna Centrum Locker").check()
    recipient.get_by_role("button", name="Send it here").click()
    expect(recipient.locator(".current-choice")).to_have_text(
        "Locker: Solna Centrum Locker, Solna torg 3"
    )
    assert fresh(PickupPoint, name="Solna Centrum Locker").lockers_reserved == 1

    # The supervisor closes the locker for good: first the parcel it would strand.
    page.reload()
    expect(page.locator(".kv")).to_contain_text("1 of 10 booked")
    page.get_by_label("Reason", exact=True).fill("Closed for repairs")
    page.get_by_label("Last closed day", exact=True).fill("")
    page.get_by_role("button", name="Close", exact=True).click()
    expect(page.get_by_role("heading", name="Close Solna Centrum Locker")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("1 parcel is booked on it.")
    row = page.locator("tbody tr")
    expect(row).to_contain_text("Locker: Solna Centrum Locker, Solna torg 3")
    link = row.get_by_role("link", name=parcel.tracking_number)
    expect(link).to_have_attribute("href", f"/admin/parcels/{parcel.tracking_number}")
    assert fresh(PickupPoint, name="Solna Centrum Locker").closed_from is None
    check_a11y(page, "network-confirm")
    shoot(page, "confirm")
    page.get_by_role("button", name="Close it and tell the recipients (1)").click()
    expect(page.get_by_role("status")).to_contain_text(
        "1 booking was withdrawn and the recipients told."
    )
    expect(page.locator(".kv")).to_contain_text("Closed for repairs")
    shoot(page, "point-closed")

    # The recipient is asked to choose again, and their page has no booking any more.
    db.session.rollback()
    messages = list(
        db.session.execute(
            select(Notification).where(
                Notification.parcel_id == parcel.id, Notification.trigger == "choice_withdrawn"
            )
        ).scalars()
    )
    assert messages, "no choice_withdrawn message"
    sms = next(m for m in messages if m.channel == "sms")
    assert "Closed for repairs" in sms.body and "Choose again" in sms.body
    assert fresh(PickupPoint, name="Solna Centrum Locker").lockers_reserved == 0
    recipient.goto(f"{live_server}/t/{parcel.tracking_number}/delivery")
    expect(recipient.locator(".current-choice")).to_have_count(0)

    # The list of points, filtered to the closed ones.
    page.get_by_role("link", name="All pickup points and lockers").click()
    page.get_by_label("Today", exact=True).select_option(label="Closed")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("heading", name="1 point")).to_be_visible()
    shoot(page, "points")
    page.get_by_role("link", name="Zones", exact=True).click()
    shoot(page, "zones")
    assert db.session.execute(select(SlotTemplate)).scalars().first() is not None
    context.close()


def test_an_import_preview_lists_bad_lines_then_applies(browser, live_server, tmp_path):
    factories.make_delivery_zone(today=datetime.now(STOCKHOLM).date())
    supervisor = factories.make_agent("sara@example.com", role=Role.SUPERVISOR)
    page = browser.new_context(viewport=DESKTOP).new_page()
    log_in(page, live_server, supervisor, "/admin/network/import")
    bad = tmp_path / "slot_templates.csv"
    bad.write_text(
        "zone,weekday,start,end,vehicle,capacity\n"
        "Stockholm,Sa,10:00,12:00,van,4\n"
        "Stockholm,Funday,10:00,12:00,van,4\n"
        "Nowhere,Su,10:00,09:00,van,0\n"
    )
    page.get_by_label("What the file holds", exact=True).select_option("slots")
    page.get_by_label("File", exact=True).set_input_files(str(bad))
    page.get_by_role("button", name="Preview").click()
    errors = page.get_by_role("list", name="Bad rows")
    expect(errors).to_contain_text("line 3: weekday: 'Funday' is not one of")
    expect(errors).to_contain_text("line 4: end: 09:00 is not after the start 10:00")
    expect(page.get_by_role("button", name="Apply")).to_have_count(0)
    check_a11y(page, "network-import-errors")
    shoot(page, "import-errors")

    good = tmp_path / "slots.csv"
    good.write_text("zone,weekday,start,end,vehicle,capacity\nStockholm,Sa,10:00,12:00,van,4\n")
    page.get_by_label("What the file holds", exact=True).select_option("slots")
    page.get_by_label("File", exact=True).set_input_files(str(good))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview dd").first).to_have_text("1")  # created
    check_a11y(page, "network-import-preview")
    shoot(page, "import-preview")
    db.session.rollback()
    assert db.session.execute(select(SlotTemplate).where(SlotTemplate.weekday == 5)).first() is None
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("status")).to_contain_text("1 created")
    shoot(page, "import-done")
    db.session.rollback()
    assert db.session.execute(select(SlotTemplate).where(SlotTemplate.weekday == 5)).first()


def test_closing_a_booked_slot_works_without_javascript(browser, live_server):
    factories.make_delivery_zone(today=datetime.now(STOCKHOLM).date())
    slot = (
        db.session.execute(
            select(Slot)
            .where(Slot.day >= datetime.now(STOCKHOLM).date() + timedelta(days=3))
            .order_by(Slot.starts_at)
        )
        .scalars()
        .first()
    )
    parcel = factories.make_parcel(statuses=[ParcelStatus.IN_TRANSIT])
    delivery.choose(parcel, delivery.ChoiceRequest(ChoiceType.SLOT, slot_id=slot.id))
    db.session.commit()
    supervisor = factories.make_agent("sara@example.com", role=Role.SUPERVISOR)
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server, supervisor, f"/admin/network/zones/{slot.zone_id}/slots")

    row = page.locator(f"#slot-{slot.id}")
    expect(row).to_contain_text("1")
    row.locator("summary").click()
    row.get_by_label("Reason", exact=True).fill("Van in repair")
    row.get_by_role("button", name="Close the slot").click()
    expect(page.get_by_role("link", name=parcel.tracking_number)).to_be_visible()
    page.get_by_role("button", name="Close the slot and tell the recipients (1)").click()
    expect(page.get_by_role("status")).to_contain_text("1 booking was withdrawn")
    expect(page.locator(f"#slot-{slot.id}")).to_contain_text("closed Van in repair")
    shoot(page, "slot-closed-nojs", js=False)
    db.session.rollback()
    assert db.session.get(Slot, slot.id).closed_reason == "Van in repair"
    assert delivery.current_choice(parcel) is None
    context.close()
