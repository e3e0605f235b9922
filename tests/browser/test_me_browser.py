"""Issue 19 in a real browser: a recipient signs in at /me with a code from the outbox, makes a
locker their usual choice, and the next parcel a shop sends through the API arrives with that
locker already chosen, on /me, on its page and in its first SMS and e-mail."""

from __future__ import annotations

from datetime import datetime

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from portal.extensions import db
from portal.models import Notification
from tests.support import factories, me
from tests.support.api import auth, parcel_body
from tests.support.browser import DESKTOP, PHONE, STOCKHOLM, screenshot, sign_in_at_me

pytestmark = [pytest.mark.browser, pytest.mark.committed]  # a live server reads the data
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}
LOCKER = "Locker: Box Locker"


@pytest.fixture
def shop(db) -> tuple[str, str]:
    """The delivery zone with its points, an earlier parcel to 113 48 (so the points near it
    are offered on /me), and a shop with an API key: (its carrier's name, the key)."""
    factories.make_delivery_zone(today=datetime.now(STOCKHOLM).date())
    first = factories.make_parcel(phone=me.PHONE)
    key = factories.make_api_key(merchant=factories.make_merchant("Nordic Outdoor"))
    return first.carrier.name, key


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_locker_set_at_me_is_already_chosen_for_the_next_parcel(
    browser: Browser, live_server: str, shop, viewport: str
):
    carrier, key = shop
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))

    page.goto(f"{live_server}/me")
    expect(page.get_by_label("Phone number or e-mail address")).to_be_focused()
    screenshot(page, f"me-sign-in-{viewport}")
    sign_in_at_me(page, live_server)
    screenshot(page, f"me-signed-in-{viewport}")

    # The usual choice: the locker, from the points nearest the earlier parcel.
    preferences = page.locator("section[aria-labelledby=preferences-heading]")
    preferences.get_by_label("At a pickup point or locker I choose").check()
    points = preferences.locator("input[name=pickup_point]")
    expect(points).to_have_count(3)
    preferences.get_by_label("Box Locker, Box Locker street 1 (locker)").check()
    preferences.get_by_role("button", name="Save my preferences").click()
    expect(page.get_by_role("status")).to_have_text(
        "Saved. Every new parcel to you follows these from now on."
    )
    expect(preferences.get_by_label("Box Locker, Box Locker street 1 (locker)")).to_be_checked()
    expect(preferences.get_by_label("At a pickup point or locker I choose")).to_be_checked()
    screenshot(page, f"me-preferences-saved-{viewport}")

    # The shop sends a new parcel to the same phone number through the API.
    body = parcel_body(carrier, phone="070-123 45 67", email="alva@example.com")
    res = context.request.post(f"{live_server}/api/v1/parcels", data=body, headers=auth(key))
    assert res.status == 201, res.text()
    created = res.json()
    tn = created["tracking_number"]
    assert created["choice"]["type"] == "locker", created["choice"]
    assert created["choice"]["made_by"] == "preference"

    # It is on /me, and its page shows the locker already chosen.
    page.goto(f"{live_server}/me")
    link = page.locator("ul.my-parcels").get_by_role("link", name=f"Nordic Outdoor · {tn}")
    expect(link).to_be_visible()
    expect(page.locator("ul.my-parcels li")).to_have_count(2)
    screenshot(page, f"me-new-parcel-{viewport}")
    link.click()
    expect(page).to_have_url(f"{live_server}/t/{tn}")
    choices = page.locator("section[aria-labelledby=choices-heading]")
    expect(choices).to_contain_text(LOCKER)
    expect(page.get_by_text("We couldn't follow your standing preference")).to_have_count(0)
    screenshot(page, f"me-new-parcel-page-{viewport}")

    # Its first SMS and e-mail say the usual choice applies.
    db.session.rollback()  # the live server committed the parcel and its messages
    sent = dict(
        db.session.execute(
            select(Notification.channel, Notification.body)
            .where(Notification.trigger == "parcel_created")
            .where(Notification.parcel.has(tracking_number=tn))
        ).all()
    )
    assert f"your usual choice applies: {LOCKER}" in sent["sms"], sent
    assert f"Your usual choice applies to this parcel: {LOCKER}" in sent["email"], sent
    assert errors == []
    context.close()
