"""A supervisor rewrites a merchant's SMS in a real browser: the preview and the segment count
follow the typing (htmx), and the Preview button does the same without JavaScript."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from portal.extensions import db
from portal.models import Account, MessageTemplate, Role
from tests.support import factories
from tests.support.browser import DESKTOP, PHONE, log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.committed]  # a live server reads the data


@pytest.fixture
def merchant(db):
    return factories.make_merchant("Nordic Outdoor")


@pytest.fixture
def supervisor(db) -> Account:
    return factories.make_agent(email="sara@example.com", role=Role.SUPERVISOR)


def saved() -> list[MessageTemplate]:
    db.session.rollback()  # a fresh look: the live server committed in its own thread
    return list(db.session.query(MessageTemplate))


def editor(merchant, channel: str = "sms", language: str = "sv") -> str:
    return f"/admin/merchants/{merchant.id}/messages/parcel_created/{channel}/{language}"


def test_supervisor_edits_an_sms_with_a_live_preview(page: Page, live_server, merchant, supervisor):
    log_in(page, live_server, supervisor, editor(merchant))
    expect(page.get_by_role("heading", name="Parcel created: SMS in Swedish")).to_be_visible()
    bubble = page.locator(".sms-bubble")
    expect(bubble).to_contain_text("Nordic Outdoor")
    expect(page.locator(".segments")).to_have_text("1 SMS segment")
    page.evaluate("window.stayedOnPage = true")

    body = page.get_by_label("Message")
    body.fill("{{ merchant }}: " + "a" * 145)  # 16 + 145 = 161 characters
    expect(page.locator(".segments")).to_have_text("2 SMS segments")
    expect(page.locator(".sms-count")).to_contain_text("161 characters")
    expect(page.locator(".encoding")).to_have_text("GSM-7")

    body.fill("Hej från {{ merchant }} 📦 Paketet {{ tracking_number }} är på väg: {{ link }}")
    expect(bubble).to_contain_text("Hej från Nordic Outdoor 📦 Paketet RR123456785SE är på väg")
    expect(page.locator(".encoding")).to_have_text("UCS-2")
    expect(page.locator(".segments")).to_have_text("2 SMS segments")  # 71 UCS-2 characters

    body.fill("{{ merchant }} {{ coupon }}")
    expect(page.locator(".preview-errors")).to_contain_text("Unknown variable: {{ coupon }}.")
    assert page.evaluate("window.stayedOnPage") is True  # all of it without a page load
    screenshot(page, "admin-template-error-desktop")

    body.fill("Hej från {{ merchant }}! Paket {{ tracking_number }} är på väg: {{ link }}")
    expect(page.locator(".encoding")).to_have_text("GSM-7")
    screenshot(page, "admin-template-sms-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "admin-template-sms-phone")
    page.set_viewport_size(DESKTOP)

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved: Nordic Outdoor now sends its own")
    expect(page.locator(".template-state")).to_contain_text("Own wording")
    expect(page.get_by_label("Message")).to_have_value(
        "Hej från {{ merchant }}! Paket {{ tracking_number }} är på väg: {{ link }}"
    )
    [row] = saved()
    assert row.body.startswith("Hej från {{ merchant }}!") and row.language == "sv"
    assert page.console_errors == []  # type: ignore[attr-defined]

    page.get_by_role("link", name="Messages of Nordic Outdoor").click()
    expect(
        page.get_by_role("link", name="Parcel created, SMS, Swedish: own wording")
    ).to_be_visible()
    screenshot(page, "admin-templates-list-desktop")

    page.get_by_role("link", name="Parcel created, SMS, Swedish: own wording").click()
    page.get_by_role("button", name="Reset to default").click()
    expect(page.get_by_role("status")).to_contain_text("Reset: the built-in message is used again.")
    assert saved() == []


def test_the_preview_button_works_without_javascript(
    browser: Browser, live_server, merchant, supervisor
):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server, supervisor, editor(merchant))
    page.get_by_label("Message").fill("{{ merchant }}: " + "a" * 145)
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".segments")).to_have_text("2 SMS segments")
    expect(page.get_by_label("Message")).to_have_value("{{ merchant }}: " + "a" * 145)
    screenshot(page, "admin-template-preview-phone-nojs")

    page.get_by_label("Message").fill("{{ merchant }} {% if %}")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".field-error")).to_contain_text("Line 1:")
    assert saved() == []
    context.close()


def test_an_email_preview_shows_subject_text_and_the_html(
    page: Page, live_server, merchant, supervisor
):
    log_in(page, live_server, supervisor, editor(merchant, "email", "en"))
    page.get_by_label("Subject").fill("{{ merchant }} has your order <b>")
    expect(page.locator(".preview-subject")).to_have_text("Nordic Outdoor has your order <b>")
    page.get_by_role("button", name="Show HTML e-mail").click()
    frame = page.frame_locator("iframe[name=email-html]")
    expect(frame.get_by_role("heading")).to_have_text("Nordic Outdoor has your order <b>")
    screenshot(page, "admin-template-email-desktop")
    errors = [e for e in page.console_errors if "Blocked script" not in e]  # type: ignore[attr-defined]
    assert errors == []
