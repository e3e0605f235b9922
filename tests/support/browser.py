"""What browser tests share: viewports, screenshots, the staff log-in form, signing in at /me,
Stockholm time."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pyotp
from playwright.sync_api import Page, expect

from portal.extensions import db
from portal.models import Account
from tests.support import factories, me

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: Page, live_server: str, account: Account, then: str) -> None:
    """The real log-in form, and its code step when the account has one."""
    page.goto(f"{live_server}/admin/login?next={then}")
    page.locator("input[name=email]").fill(account.email)
    page.locator("input[name=password]").fill(factories.STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    if "/login/code" in page.url:
        db.session.refresh(account)
        page.locator("input[name=code]").fill(pyotp.TOTP(account.totp_secret).now())
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
    assert "/login" not in page.url, page.url


def code_sent_to(address: str = me.PHONE) -> str:
    """The newest /me sign-in code the live server put in the outbox for `address` (E.164 or
    lower-case e-mail); ends this test's read snapshot first, so the server's commit shows."""
    db.session.rollback()
    return me.sent_code(address)


def sign_in_at_me(page: Page, live_server: str, typed: str = "070-123 45 67") -> None:
    """The real /me sign-in: type a phone number, then the code the outbox holds for it."""
    page.goto(f"{live_server}/me")
    page.get_by_label("Phone number or e-mail address").fill(typed)
    page.get_by_role("button", name="Send me a code").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("Code", exact=True).fill(code_sent_to())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My parcels")).to_be_visible()
