"""A recipient opened from an SMS link chooses how the parcel arrives, in a real browser."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from playwright.sync_api import Page, expect

from portal.extensions import db
from portal.models import ChoiceType, DeliveryChoice, Slot, Vehicle
from tests.support import factories
from tests.support.browser import PHONE, STOCKHOLM, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.committed]  # a live server reads the data


@pytest.fixture
def parcel(db):
    factories.make_delivery_zone(today=datetime.now(STOCKHOLM).date())
    return factories.make_parcel(merchant=factories.safe_place_merchant())


def open_delivery_page(page: Page, live_server: str, parcel) -> None:
    page.goto(f"{live_server}/l/{factories.make_link(parcel)}")
    page.get_by_role("link", name="Change delivery").click()
    expect(page.get_by_role("heading", name="Choose how your parcel arrives")).to_be_visible()


def first_free_slot(page: Page):
    radio = page.locator("#slots input[name=slot]:not([disabled])").first
    label = page.locator(f"label[for={radio.get_attribute('id')}] strong").inner_text()
    day = radio.locator("xpath=ancestor::fieldset/legend").inner_text()
    return radio, day, label.replace("–", "-")


def test_choose_a_slot_without_javascript(browser, live_server, parcel):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    open_delivery_page(page, live_server, parcel)
    screenshot(page, "delivery-options-phone-nojs")
    radio, day, window = first_free_slot(page)
    radio.check()
    page.get_by_role("button", name="Book this time").click()
    expect(page.get_by_role("status")).to_contain_text(f"Done: Delivery on {day}, {window}")
    expect(page.locator(".current-choice")).to_have_text(f"Delivery on {day}, {window}")
    screenshot(page, "delivery-booked-phone-nojs")
    context.close()


def test_choose_a_slot_with_htmx_without_reloading(page: Page, live_server, parcel):
    open_delivery_page(page, live_server, parcel)
    page.evaluate("window.stayedOnPage = true")
    radio, day, window = first_free_slot(page)
    radio.check()
    page.get_by_role("button", name="Book this time").click()
    expect(page.get_by_role("status")).to_contain_text(f"Done: Delivery on {day}, {window}")
    assert page.evaluate("window.stayedOnPage") is True  # swapped in place, no navigation
    expect(page.locator(".current-choice")).to_have_text(f"Delivery on {day}, {window}")
    # An error comes back into the form the same way.
    page.get_by_role("button", name="Leave it with them").click()
    expect(page.get_by_text("Enter your neighbour's name.")).to_be_visible()
    assert page.evaluate("window.stayedOnPage") is True
    screenshot(page, "delivery-options-desktop")
    # The browser logs the form's 422 answer as a failed load; nothing else may go wrong.
    errors = [e for e in page.console_errors if "status of 422" not in e]  # type: ignore[attr-defined]
    assert errors == []


def test_choose_the_nearest_pickup_point(page: Page, live_server, parcel):
    page.set_viewport_size(PHONE)
    open_delivery_page(page, live_server, parcel)
    points = page.locator("#pickup label strong")
    expect(points.first).to_have_text("Near Shop")
    page.get_by_label("Near Shop").check()
    page.get_by_role("button", name="Send it here").click()
    expect(page.locator(".current-choice")).to_have_text(
        "Pickup point: Near Shop, Near Shop street 1"
    )
    page.get_by_role("link", name="Back to your parcel").click()
    expect(page.locator(".timeline")).to_contain_text("Delivery changed")


def test_after_the_cutoff_the_page_says_why_not(page: Page, live_server, parcel):
    today = datetime.now(STOCKHOLM).date()
    start = datetime.combine(today, time(23, 0), tzinfo=STOCKHOLM)
    slot = Slot(
        zone_id=parcel.zone_id,
        day=today,
        starts_at=start,
        ends_at=start + timedelta(minutes=59),
        capacity=5,
        booked=1,
        vehicle=Vehicle.VAN,
    )
    db.session.add(slot)
    db.session.add(DeliveryChoice(parcel=parcel, type=ChoiceType.SLOT, slot=slot))
    db.session.commit()
    open_delivery_page(page, live_server, parcel)
    expect(page.get_by_role("heading", name="Changes are closed")).to_be_visible()
    expect(page.get_by_text("Changes closed at 18:00 on")).to_be_visible()
    expect(page.get_by_text("after the driver's attempt")).to_be_visible()
    expect(page.get_by_role("button", name="Book this time")).to_have_count(0)
    screenshot(page, "delivery-closed-desktop")
