"""Every customer page and every console page, in the states people meet them in, at phone and
desktop widths, has no WCAG 2.0/2.1/2.2 A or AA violation that axe-core finds (including
target-size: controls at least 24×24 px)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from portal.extensions import db
from portal.models import Account, PickupPoint, Role, SlotTemplate, Zone
from portal.services.accounts import SET_PASSWORD_PATH, password_link_token
from tests.support import factories, me
from tests.support.axe import check_a11y, report, violations
from tests.support.browser import DESKTOP, PHONE, code_sent_to, log_in, screenshot
from tests.support.customer import Customer, make_customer

pytestmark = [pytest.mark.browser, pytest.mark.committed]  # a live server reads the data
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}


class Audit:
    """Checks page after page and reports every failing one at the end, not just the first."""

    def __init__(self, page: Page, viewport: str):
        self.page, self.viewport, self.failures, self.checked = page, viewport, [], []

    def check(self, name: str) -> None:
        self.page.wait_for_load_state()
        screenshot(self.page, f"a11y-{name}-{self.viewport}")
        self.checked.append(name)
        if found := violations(self.page):
            self.failures.append(f"{name} ({self.page.url}):\n{report(found)}")

    def visit(self, url: str, name: str) -> None:
        response = self.page.goto(url)
        assert response is not None and response.status < 500, f"{url}: {response}"
        self.check(name)

    def visit_sandboxed(self, url: str, name: str) -> None:
        """A document served with CSP `sandbox` (no scripts at all), such as the e-mail preview
        the console shows in a frame: checked in a context that lifts the CSP, same session."""
        context = self.page.context
        unsandboxed = context.browser.new_context(
            viewport=self.page.viewport_size, bypass_csp=True, storage_state=context.storage_state()
        )
        page, self.page = self.page, unsandboxed.new_page()
        try:
            self.visit(url, name)
        finally:
            self.page = page
            unsandboxed.close()

    def assert_clean(self) -> None:
        assert not self.failures, "\n\n".join(self.failures)


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request) -> str:
    return request.param


@pytest.fixture
def audit(browser: Browser, viewport: str) -> Iterator[Audit]:
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    yield Audit(context.new_page(), viewport)
    context.close()


@pytest.fixture
def world(db) -> Customer:
    return make_customer()


@pytest.fixture
def password_link(db) -> str:
    """A working set-password link's path, as a supervisor's reset e-mails it to an agent."""
    return SET_PASSWORD_PATH + password_link_token(factories.make_agent("nils@example.com"))


def test_customer_pages(audit: Audit, live_server: str, world, password_link: str):
    page, base = audit.page, live_server
    tn, delivered = world.on_its_way.tracking_number, world.delivered.tracking_number

    audit.visit(f"{base}/", "home")
    page.get_by_label("Tracking number").fill("RA123456784GB")  # a mistyped check digit
    page.get_by_role("button", name="Track").click()
    expect(page.get_by_text("the last digit doesn't match")).to_be_visible()
    audit.check("home-error")
    audit.visit(f"{base}/t/{tn}", "parcel-unverified")
    audit.visit(f"{base}/t/{tn}/verify", "verify")
    page.get_by_label("Postcode of the delivery address").fill("999 99")
    page.get_by_role("button", name="Show my parcel").click()
    audit.check("verify-error")
    audit.visit(f"{base}/l/not-a-link", "link-invalid")
    audit.visit(f"{base}/t/RR000000000SE/delivery", "not-found")
    audit.visit(f"{base}/about/co2", "co2")

    audit.visit(f"{base}/l/{factories.make_link(world.on_its_way)}", "parcel-verified")
    audit.visit(f"{base}/t/{tn}/delivery", "delivery")
    page.get_by_role("button", name="Leave it with them").click()
    expect(page.get_by_text("Enter your neighbour's name.")).to_be_visible()
    audit.check("delivery-error")

    audit.visit(f"{base}/l/{factories.make_link(world.delivered)}", "parcel-delivered")
    audit.visit(f"{base}/t/{delivered}/return", "return-start")
    page.get_by_role("button", name="Start the return").click()
    audit.check("return-start-error")
    audit.visit(f"{base}/r/{world.ret.rma}", "return")
    audit.visit(f"{base}/r/{world.ret.rma}/label", "label")
    audit.visit(f"{base}/t/{delivered}/complaint", "complaint")
    page.get_by_role("button", name="Send complaint").click()
    audit.check("complaint-error")
    audit.visit(f"{base}/l/{factories.make_link(world.second)}", "parcel-with-case")
    audit.visit(f"{base}/c/{world.case.case_number}", "case")

    factories.make_dropoff_account()
    audit.visit(f"{base}/dropoff", "dropoff-login")
    page.get_by_label("E-mail").fill("kiosk@example.com")
    page.get_by_label("Password").fill(factories.STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Accept a return")).to_be_visible()
    audit.check("dropoff")
    page.get_by_label("Return code").fill("NOTACODE1234")
    page.get_by_role("button", name="Accept the drop-off").click()
    audit.check("dropoff-error")
    page.get_by_label("Return code").fill(world.ret.dropoff_code)
    page.get_by_role("button", name="Accept the drop-off").click()
    expect(page.get_by_role("heading", name=f"Accepted: {world.ret.rma}")).to_be_visible()
    audit.check("dropoff-accepted")
    audit.visit(f"{base}/dropoff/password", "dropoff-password")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Enter your current password.")).to_be_visible()
    audit.check("dropoff-password-error")

    # Where a supervisor's reset (or a new account's e-mail) leads: logged in or not.
    audit.visit(f"{base}{password_link}", "set-password")
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_text("Enter a new password.")).to_be_visible()
    audit.check("set-password-error")
    audit.visit(f"{base}/set-password/not-a-link", "set-password-invalid")

    audit.assert_clean()


def test_me_pages(audit: Audit, live_server: str, world):
    """/me signed out (the address form, the code page) and signed in: the whole page with
    parcels, preferences, the green mile with its chart and my data; /me/delete. Each with
    its errors too."""
    page, base = audit.page, live_server
    audit.visit(f"{base}/me", "me-sign-in")
    page.get_by_role("button", name="Send me a code").click()
    expect(page.get_by_text("Enter your phone number or e-mail address.")).to_be_visible()
    audit.check("me-sign-in-error")
    page.get_by_label("Phone number or e-mail address").fill("070-123 45 67")
    page.get_by_role("button", name="Send me a code").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    code = page.get_by_label("Code", exact=True)
    expect(code).to_have_attribute("autocomplete", "one-time-code")
    expect(code).to_have_attribute("inputmode", "numeric")
    audit.check("me-code")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Enter the 6-digit code we sent you.")).to_be_visible()
    audit.check("me-code-error")
    page.get_by_label("Code", exact=True).fill(code_sent_to(me.PHONE))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My parcels")).to_be_visible()
    audit.check("me")

    page.get_by_label("With a neighbour").check()
    page.get_by_role("button", name="Save my preferences").click()
    expect(page.get_by_text("Enter your neighbour's name.")).to_be_visible()
    audit.check("me-preferences-error")
    page.get_by_label("At a pickup point or locker I choose").check()
    page.get_by_label("Box Locker, Box Locker street 1 (locker)").check()
    page.get_by_role("button", name="Save my preferences").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    audit.check("me-preferences-saved")
    db.session.rollback()  # end the snapshot read for the code: the server wrote since
    factories.make_parcel(phone=me.PHONE)  # follows the locker: the green mile has a chart
    audit.visit(f"{base}/me", "me-green")
    expect(page.locator("figure.green-chart svg")).to_be_visible()
    expect(page.get_by_role("heading", name="My data")).to_be_visible()

    audit.visit(f"{base}/me/delete", "me-delete")
    page.get_by_role("main").get_by_role("button", name="Delete my profile").click()
    expect(page.get_by_text("Tick the box to confirm")).to_be_visible()
    audit.check("me-delete-error")
    audit.assert_clean()


# Values for the arguments of console routes; a new argument fails the test until it has one.
def admin_urls(app: Flask, world: Customer, agent: Account) -> list[str]:
    values = {
        "tn": [world.on_its_way.tracking_number, world.delivered.tracking_number],
        "merchant_id": [world.merchant.id],
        "account_id": [agent.id],
        "trigger": ["parcel_created"],
        "channel": ["sms", "email"],
        "language": ["sv"],
        # The delivery network (make_customer's zone): a zone, a slot template, a locker.
        "zone_id": [db.session.scalars(select(Zone.id)).first()],
        "template_id": [db.session.scalars(select(SlotTemplate.id)).first()],
        "point_id": [
            db.session.scalars(select(PickupPoint.id).where(PickupPoint.is_locker)).first()
        ],
    }
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or "GET" not in rule.methods:
            continue
        if rule.rule.endswith((".csv", ".svg", ".geojson")) or rule.endpoint.startswith(
            "accounts.login"
        ):
            continue  # files, not pages; the log-in pages are checked on the way in
        missing = rule.arguments - values.keys()
        assert not missing, f"{rule.rule}: give test_accessibility a value for {missing}"
        combos = [{}]
        for arg in sorted(rule.arguments):
            combos = [{**c, arg: v} for c in combos for v in values[arg]]
        with app.test_request_context():
            urls += [rule.build(c, append_unknown=False)[1] for c in combos]
    return sorted(set(urls))


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
def test_console_pages(audit: Audit, live_server: str, app: Flask, world, role: Role):
    page = audit.page
    staff = factories.make_agent("sara@example.com", role=role)
    agent = staff if role is Role.AGENT else factories.make_agent("bo@example.com")
    factories.make_complaint(world.delivered, type="late")  # something in the queues

    audit.visit(f"{live_server}/admin/login", "admin-login")
    page.get_by_label("E-mail").fill(staff.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    audit.check("admin-login-error")
    if role is Role.SUPERVISOR:
        page.get_by_label("E-mail").fill(staff.email)
        page.get_by_label("Password").fill(factories.STAFF_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        audit.check("admin-login-code")
    log_in(page, live_server, staff, "/admin/")

    # Every console page for both roles: an agent meets the supervisors' pages as the 403 page.
    urls = admin_urls(app, world, agent)
    urls += [f"/admin/?q={world.delivered.recipient_phone}", "/admin/?q=Lindqvist"]
    for url in urls:
        name = f"admin-{role.value}-" + re.sub(r"\W+", "-", url[7:])
        if url.endswith("/preview.html"):
            audit.visit_sandboxed(live_server + url, name)
        else:
            audit.visit(live_server + url, name)
    assert len(audit.checked) > 20
    audit.assert_clean()


def test_axe_runs_under_the_pages_csp(page: Page, live_server: str):
    """The helper injects axe without weakening the CSP, and finds what it should."""
    page.goto(f"{live_server}/")
    page.evaluate("document.querySelector('main').append(document.createElement('img'))")
    assert "image-alt" in [v["id"] for v in violations(page)]
    page.goto(f"{live_server}/")
    check_a11y(page, "home")
    assert page.console_errors == []  # type: ignore[attr-defined]
