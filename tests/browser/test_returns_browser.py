"""A customer returns part of an order from the parcel page to a printed label, and a
service point accepts it by code, in a real browser."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.extensions import db
from portal.models import Return, ReturnStatus
from tests.support import factories
from tests.support.browser import PHONE, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.committed]  # a live server reads the data


@pytest.fixture
def order(db):
    merchant = factories.make_merchant("Nordic Outdoor")
    merchant.return_address = "Returns desk\nLagervägen 4\n136 50 Haninge"
    db.session.commit()
    return factories.make_order(merchant)


def test_a_return_from_the_parcel_page_to_a_printed_label(page: Page, live_server, order):
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/l/{factories.make_link(order[0])}")
    page.get_by_role("link", name="Return items").click()
    expect(page.get_by_role("heading", name="Return items")).to_be_visible()
    shirt = page.get_by_role("group", name="Linen shirt")
    shirt.get_by_label("How many").select_option("1")
    shirt.get_by_label("Why").select_option("too_small")
    tent = page.get_by_role("group", name="Trail tent")
    tent.get_by_label("How many").select_option("1")
    tent.get_by_label("Why").select_option("other")
    screenshot(page, "return-start-phone")
    page.get_by_role("button", name="Start the return").click()
    # "Other reason" needs words: the error stays on that item, what was chosen stays too.
    expect(page.get_by_text("Tell us in a few words why Trail tent goes back.")).to_be_visible()
    expect(page.get_by_role("group", name="Linen shirt").get_by_label("How many")).to_have_value(
        "1"
    )
    page.get_by_role("group", name="Trail tent").get_by_label("Tell us more").fill("Too heavy")
    page.get_by_label("Drop it off at a service point").check()
    page.get_by_role("button", name="Start the return").click()

    expect(page.get_by_role("heading", name="Ready to send back")).to_be_visible()
    ret = db.session.execute(select(Return)).scalar_one()
    expect(page.get_by_role("heading", name=f"Return {ret.rma}")).to_be_visible()
    screenshot(page, "return-label-phone")
    href = page.get_by_role("link", name="Save as image").get_attribute("href")
    png = page.request.get(f"{live_server}{href}")
    codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.body())))
    assert [c.text for c in codes] == [ret.dropoff_code]

    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("link", name="Print the label (A6)").click()
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    label = page.get_by_role("img", name=f"Return label with QR code. Code {ret.dropoff_code}")
    expect(label).to_be_visible()
    # Loaded and decoded, not just laid out (a busy machine shows the box before the picture).
    page.wait_for_function("document.querySelector('img.label').complete")
    assert page.evaluate("document.querySelector('img.label').naturalWidth") > 0
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    screenshot(page, "return-label-print")


def test_a_service_point_accepts_the_drop_off_by_code(browser, live_server, order):
    from portal.services.returns import LineRequest, ReturnRequest, open_return

    shirt = next(i for i in order[0].items if i.sku == "SHIRT-M")
    ret = open_return(
        order[0], ReturnRequest([LineRequest(shirt.id, quantity=1, reason="too_small")], "dropoff")
    )
    db.session.commit()
    factories.make_dropoff_account()
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server}/dropoff")
    page.get_by_label("E-mail").fill("kiosk@example.com")
    page.get_by_label("Password").fill(factories.STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Accept a return")).to_be_visible()
    page.get_by_label("Return code").fill(ret.dropoff_code.lower())
    page.get_by_role("button", name="Accept the drop-off").click()
    expect(page.get_by_role("heading", name=f"Accepted: {ret.rma}")).to_be_visible()
    screenshot(page, "dropoff-accepted-phone")
    page.get_by_label("Return code").fill(ret.dropoff_code)
    page.get_by_role("button", name="Accept the drop-off").click()
    expect(page.get_by_role("alert")).to_contain_text("Don't accept this parcel again")
    expect(page.get_by_text("Pressbyrån Odenplan").first).to_be_visible()
    screenshot(page, "dropoff-twice-phone")
    db.session.rollback()  # end this test's read snapshot, then look again
    assert db.session.get(Return, ret.id).status is ReturnStatus.DROPPED_OFF
    context.close()
