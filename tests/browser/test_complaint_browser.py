"""A recipient files a complaint with photos and answers a question, in a real browser, no JS."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.extensions import db
from portal.models import Complaint, ComplaintStatus
from portal.services import complaints
from portal.services.parcels import ItemData
from tests.support import factories
from tests.support.browser import DESKTOP, PHONE, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.committed]  # a live server reads the data


@pytest.fixture(autouse=True)
def uploads(app, tmp_path, monkeypatch):
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(folder))
    return folder


@pytest.fixture
def parcel(db):
    factories.make_zone("Stockholm", prefixes=("113",))
    return factories.make_parcel(
        items=[
            ItemData("TENT-2P", "Trail tent", 1, Decimal("2499.00")),
            ItemData("MUG-ENAMEL", "Enamel mug", 2, Decimal("129.00")),
        ],
        statuses=factories.DELIVERED,
    )


def photo_file(path, size, colour, fmt):
    """A picture of a dented box: something to see in the thumbnails."""
    image = Image.new("RGB", size, (225, 230, 235))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.polygon(
        [(w * 0.2, h * 0.3), (w * 0.8, h * 0.25), (w * 0.85, h * 0.8), (w * 0.15, h * 0.85)],
        fill=colour,
    )
    draw.line(
        [(w * 0.3, h * 0.35), (w * 0.55, h * 0.6), (w * 0.7, h * 0.4)],
        fill=(60, 40, 20),
        width=max(4, w // 80),
    )
    image.save(path, fmt)
    return path


def latest_complaint() -> Complaint:
    db.session.rollback()  # see what the server committed
    return db.session.execute(select(Complaint)).scalar_one()


def test_file_a_complaint_with_two_photos_without_javascript(
    browser, live_server, parcel, tmp_path
):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page: Page = context.new_page()
    page.goto(f"{live_server}/l/{factories.make_link(parcel)}")
    page.get_by_role("link", name="Report a problem").click()
    expect(page.get_by_role("heading", name="Report a problem")).to_be_visible()
    screenshot(page, "complaint-form-phone-nojs")

    # Sending it empty: every error in place, and a summary on top.
    page.get_by_role("button", name="Send complaint").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose what went wrong.")
    expect(page.locator("#description-error")).to_have_text("Tell us what happened.")
    screenshot(page, "complaint-form-errors-phone-nojs")

    page.get_by_label("Damaged").check()
    page.get_by_label("1 × Trail tent").check()
    page.get_by_label("What happened?").fill(
        "The box was crushed on one side.\nOne tent pole is bent and the bag is torn."
    )
    front = photo_file(tmp_path / "front.jpg", (3024, 4032), (176, 122, 70), "JPEG")
    side = photo_file(tmp_path / "side.png", (1200, 900), (150, 105, 60), "PNG")
    page.get_by_label("Photos (optional)").set_input_files([front, side])
    page.get_by_role("button", name="Send complaint").click()

    expect(page).to_have_url(re.compile(r"/c/C-[A-HJKMNP-Z2-9]{8}$"))
    complaint = latest_complaint()
    assert page.url == f"{live_server}/c/{complaint.case_number}"
    expect(page.get_by_role("status")).to_contain_text("Thank you, we've got your complaint.")
    expect(page.get_by_role("heading", level=1)).to_contain_text(complaint.case_number)
    expect(page.get_by_role("region", name="Received")).to_contain_text("We'll answer by")
    thumbnails = page.locator("ul.photos img")
    expect(thumbnails).to_have_count(2)
    assert [(p.width, p.height) for p in complaint.photos] == [(1536, 2048), (1200, 900)]
    # The pictures really come to this browser (and only re-encoded, as JPEG and PNG).
    for img, kind in zip(thumbnails.all(), ("image/jpeg", "image/png"), strict=True):
        answer = page.request.get(live_server + img.get_attribute("src"))
        assert answer.status == 200 and answer.headers["content-type"] == kind
    screenshot(page, "complaint-case-phone-nojs")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "complaint-case-desktop-nojs")

    # The parcel page lists the case.
    page.get_by_role("link", name="Back to your parcel").click()
    expect(page.locator("#complaints")).to_contain_text(f"{complaint.case_number} Damaged")
    expect(page.locator("#complaints")).to_contain_text("Received")
    page.locator("#complaints").scroll_into_view_if_needed()
    screenshot(page, "complaint-parcel-page-desktop-nojs")
    context.close()


def test_answer_a_question_with_a_photo_without_javascript(browser, live_server, parcel, tmp_path):
    case = factories.make_complaint(parcel)
    complaints.change_status(
        case,
        ComplaintStatus.AWAITING_CUSTOMER,
        agent=factories.make_agent(),
        message="Sorry to hear that. Could you send us a photo of the label on the box?",
    )
    db.session.commit()
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server}/l/{factories.make_link(parcel)}")
    page.get_by_role("link", name=case.case_number).click()
    expect(page.get_by_role("heading", name="Waiting for your answer")).to_be_visible()
    expect(page.get_by_text("Could you send us a photo of the label")).to_be_visible()
    screenshot(page, "complaint-awaiting-desktop-nojs")

    page.get_by_role("textbox", name="Your answer").fill(
        "Here it is. The label is torn at the corner."
    )
    label = photo_file(tmp_path / "label.webp", (1600, 1200), (240, 240, 200), "WEBP")
    page.get_by_label("Photos (optional)").set_input_files(label)
    page.get_by_role("button", name="Send answer").click()

    expect(page.get_by_role("status")).to_contain_text("We've got your answer")
    expect(page.get_by_role("heading", name="Being looked into")).to_be_visible()
    expect(page.locator(".entry-customer")).to_contain_text("The label is torn at the corner.")
    expect(page.locator(".entry-customer ul.photos img")).to_have_count(1)
    expect(page.get_by_role("button", name="Send answer")).to_have_count(0)
    screenshot(page, "complaint-answered-desktop-nojs")
    page.set_viewport_size(PHONE)
    screenshot(page, "complaint-answered-phone-nojs")
    context.close()
