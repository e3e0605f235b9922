"""An agent takes a call: finds the parcel by the caller's phone number and rebooks it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEntry, ChoiceType, ParcelStatus
from portal.services.delivery import current_choice
from tests.support import factories
from tests.support.browser import PHONE, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.committed]  # a live server reads the data
STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.fixture
def parcel(db):
    factories.make_delivery_zone(today=datetime.now(STOCKHOLM).date())
    factories.make_parcel(name="Someone Else", phone="+46709876543", email="else@example.com")
    return factories.make_parcel(
        name="Alva Lindqvist", phone="+46701234567", statuses=[ParcelStatus.IN_TRANSIT]
    )


def log_in(page: Page, live_server: str, account) -> None:
    page.goto(f"{live_server}/admin/")
    page.get_by_label("E-mail").fill(account.email)
    page.get_by_label("Password").fill(factories.STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Find a parcel")).to_be_visible()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_agent_finds_a_parcel_by_phone_and_rebooks_it(browser, live_server, parcel, viewport):
    context = browser.new_context(
        viewport=PHONE if viewport == "phone" else {"width": 1280, "height": 900}
    )
    page = context.new_page()
    log_in(page, live_server, factories.make_agent())

    # The caller reads their number the way people do.
    page.get_by_role("searchbox").fill("070-123 45 67")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="1 parcel for “070-123 45 67”")).to_be_visible()
    screenshot(page, f"admin-search-{viewport}")
    page.get_by_role("link", name=parcel.tracking_number).click()
    expect(page.get_by_role("heading", name=parcel.tracking_number)).to_be_visible()
    expect(page.get_by_text("Alva Lindqvist")).to_be_visible()
    screenshot(page, f"admin-parcel-{viewport}")

    page.get_by_role("link", name="Change delivery for the recipient").click()
    radio = page.locator("input[name=slot]:not([disabled])").first
    # The time, as the recipient's own page shows it (under the day it is on).
    time = page.locator(f"label[for={radio.get_attribute('id')}] strong").inner_text()
    radio.check()
    screenshot(page, f"admin-delivery-{viewport}")
    page.get_by_role("button", name="Book this time").click()

    expect(page.get_by_role("status")).to_contain_text("Delivery changed to")
    expect(page.get_by_role("status")).to_contain_text("the recipient is told")
    expect(page.locator("#delivery")).to_contain_text(time.replace("–", "-"))
    expect(page.locator("#audit")).to_contain_text("Changed the delivery choice")
    screenshot(page, f"admin-rebooked-{viewport}")

    db.session.rollback()
    assert current_choice(parcel).type is ChoiceType.SLOT
    assert db.session.execute(select(AuditEntry.action)).scalars().all() == ["delivery.change"]
    context.close()
