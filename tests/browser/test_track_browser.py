"""A shopper tracks a parcel in a real browser, with JavaScript on and off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from portal.models import ParcelStatus as S
from portal.services.events import EventData, accept_events
from tests.support import factories
from tests.support.browser import DESKTOP, PHONE, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.committed]  # a live server reads the data


@pytest.fixture
def parcel(db):
    factories.make_zone("Stockholm", prefixes=("113",))
    now = datetime.now(UTC)
    return factories.make_parcel(
        name="Alva Lindqvist",
        statuses=[S.PENDING, S.PICKED_UP, S.IN_TRANSIT],
        eta=(now + timedelta(hours=3), now + timedelta(hours=5)),
    )


def track_and_verify(page: Page, live_server: str, parcel) -> None:
    page.goto(live_server + "/")
    page.get_by_label("Tracking number").fill(parcel.tracking_number.lower())
    page.get_by_role("button", name="Track").click()
    expect(page).to_have_url(f"{live_server}/t/{parcel.tracking_number}")
    expect(page.get_by_role("heading", name="On its way")).to_be_visible()
    expect(page.get_by_text("Alva Lindqvist")).to_have_count(0)
    page.get_by_label("Postcode of the delivery address").fill("113 48")
    page.get_by_role("button", name="Show my parcel").click()
    expect(page.get_by_text("Surbrunnsgatan 14")).to_be_visible()
    expect(page.get_by_text("Alva Lindqvist")).to_be_visible()


def test_track_and_verify_with_javascript(page: Page, live_server, parcel):
    track_and_verify(page, live_server, parcel)
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.console_errors == []  # no CSP violations, no script errors


def test_track_and_verify_without_javascript(page_without_js: Page, live_server, parcel):
    track_and_verify(page_without_js, live_server, parcel)


def test_mistyped_number_says_which_digit_is_wrong(page: Page, live_server):
    page.goto(live_server + "/")
    page.get_by_label("Tracking number").fill("RA123456784GB")
    page.get_by_role("button", name="Track").click()
    expect(page.get_by_text("the last digit doesn't match")).to_be_visible()
    field = page.get_by_label("Tracking number")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()


def test_open_page_refreshes_its_status_by_itself(page: Page, live_server, parcel, app, carrier):
    app.config["TRACKING_POLL_SECONDS"] = 1
    try:
        page.goto(f"{live_server}/t/{parcel.tracking_number}")
        expect(page.get_by_role("heading", name="On its way")).to_be_visible()
        accept_events(
            parcel.carrier,
            [
                EventData(
                    event_id="ofd",
                    tracking_number=parcel.tracking_number,
                    code="out_for_delivery",
                    occurred_at=datetime.now(UTC),
                    location="Stockholm",
                )
            ],
        )
        factories.db.session.commit()
        expect(page.get_by_role("heading", name="Out for delivery")).to_be_visible(timeout=5000)
    finally:
        app.config["TRACKING_POLL_SECONDS"] = 30


def test_parcel_page_screenshots_at_phone_and_desktop_width(page: Page, live_server, parcel):
    token = factories.make_link(parcel)
    page.goto(f"{live_server}/l/{token}")
    expect(page.get_by_text("Surbrunnsgatan 14")).to_be_visible()
    for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        path = screenshot(page, f"parcel-{name}")
        assert path.stat().st_size > 10_000
        # Nothing runs off the side of the screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    page.goto(f"{live_server}/")
    page.set_viewport_size(PHONE)
    screenshot(page, "home-phone")
