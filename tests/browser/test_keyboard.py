"""A recipient without a mouse tracks, verifies, picks a pickup point and starts a return, and
signs in at /me and saves their preferences, using the keyboard alone: Tab, Shift+Tab, arrow
keys, Space, Enter and typing; no clicks, no fill()."""

from __future__ import annotations

from datetime import datetime

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.extensions import db
from portal.models import ParcelStatus as S
from portal.models import PickupPoint, Return
from tests.support import factories, me
from tests.support.browser import PHONE, STOCKHOLM, code_sent_to, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.committed]  # a live server reads the data
MAX_TABS = 80


def focused(page: Page, selector: str) -> bool:
    return page.evaluate("s => document.activeElement?.matches(s) ?? false", selector)


def tab_to(page: Page, selector: str, *, back: bool = False) -> None:
    """Press Tab (Shift+Tab with `back`) until the element matching `selector` has focus."""
    for _ in range(MAX_TABS):
        if focused(page, selector):
            return
        page.keyboard.press("Shift+Tab" if back else "Tab")
    raise AssertionError(f"{selector} not reached in {MAX_TABS} presses of Tab")


def focus_is_visible(page: Page) -> None:
    """The focused element shows the focus ring (an outline of a few pixels, not `none`)."""
    style = page.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
                   return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"""
    )
    assert style[0] != "none" and style[1] >= 2, style


def arrow_until_checked(page: Page, label: str) -> None:
    """In a radio group with focus, arrow down until the radio labelled `label` is checked."""
    for _ in range(10):
        if page.evaluate(
            "() => { const el = document.activeElement;"
            " return el.checked ? el.labels[0].innerText : ''; }"
        ).startswith(label):
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"no radio labelled {label!r}")


@pytest.fixture
def parcels():
    """Two parcels for Alva: one on its way (its delivery can change), one delivered last
    week (it can go back). A parcel can't be both, so the story uses one of each."""
    factories.make_delivery_zone(today=datetime.now(STOCKHOLM).date())
    merchant = factories.make_merchant("Nordic Outdoor")
    on_its_way = factories.make_parcel(merchant=merchant, statuses=[S.PICKED_UP, S.IN_TRANSIT])
    delivered = factories.make_parcel(
        merchant=merchant, items=factories.shirt_and_socks(), statuses=factories.DELIVERED
    )
    return on_its_way, delivered


def track_and_verify(page: Page, tracking_number: str) -> None:
    tab_to(page, "input[name=tn]")
    page.keyboard.type(tracking_number.lower())
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Is this your parcel?")).to_be_visible()
    tab_to(page, "input[name=postcode]")
    focus_is_visible(page)
    page.keyboard.type("113 48")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Surbrunnsgatan 14")).to_be_visible()


def test_track_verify_choose_a_pickup_point_and_start_a_return_by_keyboard(
    page: Page, live_server, parcels
):
    on_its_way, delivered = parcels
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/")

    assert focused(page, "input[name=tn]")  # the home page's one job: focus starts there
    focus_is_visible(page)
    track_and_verify(page, on_its_way.tracking_number)

    tab_to(page, "a[href$='/delivery']")
    focus_is_visible(page)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Choose how your parcel arrives")).to_be_visible()
    # On a new page the first Tab reaches the skip link, which shows itself and its focus ring.
    page.keyboard.press("Tab")
    assert focused(page, "a.skip")
    focus_is_visible(page)
    expect(page.locator("a.skip")).to_be_in_viewport()
    page.keyboard.press("Enter")  # past the header, into <main>
    tab_to(page, "input[name=pickup_point]")
    arrow_until_checked(page, "Near Shop")
    focus_is_visible(page)
    tab_to(page, "#pickup button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator(".current-choice")).to_have_text(
        "Pickup point: Near Shop, Near Shop street 1"
    )
    # Only after htmx's swap: a screenshot leaves empty style attributes behind, which htmx
    # would copy over as it settles, and the CSP would (rightly) refuse.
    screenshot(page, "keyboard-pickup-point-phone")

    # Back up to the header's home link with Shift+Tab, and on to the delivered parcel.
    tab_to(page, "a.brand", back=True)
    focus_is_visible(page)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Where is my parcel?")).to_be_visible()
    track_and_verify(page, delivered.tracking_number)

    tab_to(page, "a[href$='/return']")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Return items")).to_be_visible()
    shirt = next(i for i in delivered.items if i.sku == "SHIRT-M")
    tab_to(page, f"select[name=qty_{shirt.id}]")
    focus_is_visible(page)
    page.keyboard.press("ArrowDown")  # 0 → 1
    tab_to(page, f"select[name=reason_{shirt.id}]")
    page.keyboard.press("ArrowDown")  # the first reason
    tab_to(page, "input[name=method]")
    arrow_until_checked(page, "Drop it off at a service point")
    screenshot(page, "keyboard-return-phone")
    tab_to(page, ".return-form button[type=submit]")
    focus_is_visible(page)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Ready to send back")).to_be_visible()
    db.session.rollback()  # end this test's read snapshot: the live server committed the return
    rma = db.session.execute(select(Return.rma)).scalar_one()
    expect(page).to_have_url(f"{live_server}/r/{rma}")
    assert page.console_errors == []  # type: ignore[attr-defined]


@pytest.fixture
def earlier_parcel():
    """The delivery zone and a parcel to 113 48 for Alva's phone: /me offers the points near it."""
    factories.make_delivery_zone(today=datetime.now(STOCKHOLM).date())
    return factories.make_parcel(phone=me.PHONE)


def test_sign_in_at_me_and_save_preferences_by_keyboard(page: Page, live_server, earlier_parcel):
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/me")
    assert focused(page, "input[name=address]")  # the sign-in page's one job: focus starts there
    focus_is_visible(page)
    page.keyboard.type("070-123 45 67")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    assert focused(page, "input[name=code]")
    focus_is_visible(page)
    expect(page.locator("input[name=code]")).to_have_attribute("autocomplete", "one-time-code")
    page.keyboard.type(code_sent_to(me.PHONE))
    tab_to(page, "input[name=remember]")
    focus_is_visible(page)
    page.keyboard.press("Space")
    assert page.locator("input[name=remember]").is_checked()
    tab_to(page, "form[action$='/me/code'] button[type=submit]")
    focus_is_visible(page)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="My preferences")).to_be_visible()
    tab_to(page, "input[name=delivery]")
    focus_is_visible(page)
    arrow_until_checked(page, "At a pickup point or locker I choose")
    tab_to(page, "input[name=pickup_point]")
    arrow_until_checked(page, "Box Locker")
    focus_is_visible(page)
    tab_to(page, "input[name=notify_email]")
    page.keyboard.press("Space")  # SMS only
    tab_to(page, "select[name=language]")
    focus_is_visible(page)
    page.keyboard.press("ArrowDown")  # the shop's choice → English
    screenshot(page, "keyboard-me-preferences-phone")
    tab_to(page, "form[action$='/me/preferences'] button[type=submit]")
    focus_is_visible(page)
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_have_text(
        "Saved. Every new parcel to you follows these from now on."
    )
    db.session.rollback()  # end this test's read snapshot: the live server saved them
    recipient = me.recipient(me.PHONE)
    locker = db.session.execute(
        select(PickupPoint).where(PickupPoint.name == "Box Locker")
    ).scalar_one()
    assert recipient.delivery_preference == "pickup_point"
    assert recipient.preferred_point_id == locker.id
    assert (recipient.notify_sms, recipient.notify_email, recipient.language) == (True, False, "en")
    # Signed in for 30 days on this device: the session cookie outlives the browser.
    cookies = page.context.cookies()
    assert any(c["expires"] > 0 for c in cookies if c["name"] == "session"), cookies
    assert page.console_errors == []  # type: ignore[attr-defined]
