"""What browser tests share: viewports, screenshots, the staff log-in form, Stockholm time."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pyotp
from playwright.sync_api import Page

from portal.extensions import db
from portal.models import Account
from tests.support import factories

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
