"""A shopper whose postcode fits two shops' parcels under one tracking number chooses which to
see, in a real browser: without JavaScript, and with no accessibility rule broken."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from portal import s10
from portal.models import ParcelStatus as S
from tests.support import factories
from tests.support.axe import check_a11y
from tests.support.browser import DESKTOP, PHONE, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.committed]  # a live server reads the data
SHARED = f"RR55500003{s10.check_digit('55500003')}SE"


@pytest.fixture
def two_shops(db):
    factories.make_zone("Stockholm", prefixes=("113",))
    for shop, carrier, statuses in (
        ("Norrland Outdoor", "Baltic Express", [S.PICKED_UP, S.IN_TRANSIT]),
        ("Göta Gear", "Nordic Post", [S.PICKED_UP, S.OUT_FOR_DELIVERY]),
    ):
        factories.make_parcel(
            merchant=factories.make_merchant(shop),
            carrier=factories.make_carrier(carrier),
            tracking_number=SHARED,
            statuses=statuses,
        )


def verify_and_choose(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/t/{SHARED}")
    page.get_by_label("Postcode of the delivery address").fill("113 48")
    page.get_by_role("button", name="Show my parcel").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Which parcel do you want to see?")
    expect(page.get_by_text("Out for delivery")).to_be_visible()
    page.get_by_role("link", name="Your parcel from Göta Gear").click()
    expect(page.get_by_text("Your parcel from Göta Gear")).to_be_visible()
    expect(page.get_by_role("heading", name="Out for delivery")).to_be_visible()

    page.get_by_role("link", name="Choose another parcel").click()
    page.get_by_role("link", name="Your parcel from Norrland Outdoor").click()
    expect(page.get_by_text("Your parcel from Norrland Outdoor")).to_be_visible()
    expect(page.get_by_role("heading", name="On its way")).to_be_visible()


def test_choosing_among_parcels_without_javascript(page_without_js: Page, live_server, two_shops):
    verify_and_choose(page_without_js, live_server)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_choice_is_accessible(browser: Browser, live_server, two_shops, viewport):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        verify_and_choose(page, live_server)
        check_a11y(page, "parcel with a choice")
        page.goto(f"{live_server}/t/{SHARED}/choose")
        screenshot(page, f"shared-number-choice-{viewport['width']}")
        check_a11y(page, "choice")
        for link in page.get_by_role("link", name="Your parcel from").all():
            box = link.bounding_box()
            assert box and box["height"] >= 24 and box["width"] >= 24, box
    finally:
        context.close()


# --- two tabs, one parcel each -------------------------------------------------------------------


def open_in_two_tabs(tab_1: Page, live_server: str) -> Page:
    """Both parcels unlocked with one postcode; Norrland Outdoor's in `tab_1`, then Göta Gear's
    in a second tab of the same browser (returned)."""
    tab_1.goto(f"{live_server}/t/{SHARED}")
    tab_1.get_by_label("Postcode of the delivery address").fill("113 48")
    tab_1.get_by_role("button", name="Show my parcel").click()
    tab_1.get_by_role("link", name="Your parcel from Norrland Outdoor").click()
    expect(tab_1.get_by_role("heading", name="On its way")).to_be_visible()
    tab_2 = tab_1.context.new_page()
    tab_2.goto(f"{live_server}/t/{SHARED}/choose")
    tab_2.get_by_role("link", name="Your parcel from Göta Gear").click()
    expect(tab_2.get_by_role("heading", name="Out for delivery")).to_be_visible()
    return tab_2


def test_each_tab_keeps_acting_on_its_own_parcel_without_javascript(
    page_without_js: Page, live_server, two_shops
):
    tab_1 = page_without_js
    tab_2 = open_in_two_tabs(tab_1, live_server)

    tab_1.get_by_label("By SMS to").uncheck()
    tab_1.get_by_role("button", name="Save").click()
    expect(tab_1.get_by_text("Saved: we'll keep you posted the way you chose.")).to_be_visible()
    expect(tab_1.get_by_role("heading", name="On its way")).to_be_visible()
    expect(tab_1.get_by_label("By SMS to")).not_to_be_checked()
    tab_2.reload()
    expect(tab_2.get_by_role("heading", name="Out for delivery")).to_be_visible()
    expect(tab_2.get_by_label("By SMS to")).to_be_checked()

    tab_1.get_by_role("link", name="Report a problem").click()
    expect(tab_1.get_by_text("Your parcel from Norrland Outdoor")).to_be_visible()
    tab_1.get_by_role("link", name="Back to your parcel").click()
    expect(tab_1.get_by_role("heading", name="On its way")).to_be_visible()


def test_a_tabs_poll_keeps_showing_its_own_parcel(
    browser: Browser, live_server, two_shops, app, monkeypatch
):
    monkeypatch.setitem(app.config, "TRACKING_POLL_SECONDS", 1)
    context = browser.new_context(viewport=DESKTOP)
    try:
        tab_1 = context.new_page()
        open_in_two_tabs(tab_1, live_server)
        # Two polls after the other tab opened the other parcel: the first one's answer is on
        # the page by the time the second is asked.
        for _ in range(2):
            with tab_1.expect_response(lambda r: r.request.headers.get("hx-request") == "true"):
                pass
        expect(tab_1.get_by_role("heading", name="On its way")).to_be_visible()
        expect(tab_1.get_by_role("heading", name="Out for delivery")).to_have_count(0)
    finally:
        context.close()
