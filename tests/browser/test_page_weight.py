"""Every customer page loads in under 100 KB of HTML, CSS and JavaScript (images and fonts
aside), measured in the browser on a cold cache. The figures are printed (`pytest -s`) and
written to test-artifacts/page-weight.md."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, Response, expect

from tests.support import factories
from tests.support.browser import ARTIFACTS, PHONE
from tests.support.customer import Customer, make_customer

pytestmark = [pytest.mark.browser, pytest.mark.committed]  # a live server reads the data
BUDGET = 100 * 1024
COUNTED = {"text/html": "HTML", "text/css": "CSS", "text/javascript": "JS"}
COUNTED["application/javascript"] = "JS"


@pytest.fixture
def customer(db) -> Customer:
    return make_customer()


def verified(link: Callable[[], str]) -> Callable[[Page, str], None]:
    """Before the measured load: open the parcel's signed link, as from the SMS."""
    return lambda page, base: page.goto(f"{base}/l/{link()}")


def dropoff_desk(page: Page, base: str) -> None:
    factories.make_dropoff_account()
    page.goto(f"{base}/dropoff/login")
    page.get_by_label("E-mail").fill("kiosk@example.com")
    page.get_by_label("Password").fill(factories.STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Accept a return")).to_be_visible()


def measure(browser: Browser, base: str, path: str, before=None) -> dict[str, int]:
    """Bytes on the wire (headers and body) per kind, for one load of `path` on a cold cache."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    if before:
        before(page, base)
        # Cold again: what `before` loaded must be counted on the measured page too.
        context.new_cdp_session(page).send("Network.clearBrowserCache")
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))
    page.goto(base + path, wait_until="networkidle")
    sizes = {"HTML": 0, "CSS": 0, "JS": 0, "other": 0}
    for response in responses:
        kind = COUNTED.get(response.headers.get("content-type", "").split(";")[0], "other")
        # On the wire: CSS and JS as the app compresses them (brotli); HTML as sent (nginx
        # gzips it in production, the test server does not).
        wire = response.request.sizes()
        sizes[kind] += wire["responseBodySize"] + wire["responseHeadersSize"]
    context.close()
    return sizes


def test_every_customer_page_is_under_100_kb(browser: Browser, live_server: str, customer):
    c = customer
    tn, delivered, rma = c.on_its_way.tracking_number, c.delivered.tracking_number, c.ret.rma
    pages = {
        "home": ("/", None),
        "parcel (unverified)": (f"/t/{tn}", None),
        "verify": (f"/t/{tn}/verify", None),
        "parcel (verified)": (f"/t/{tn}", verified(lambda: factories.make_link(c.on_its_way))),
        "delivery": (f"/t/{tn}/delivery", verified(lambda: factories.make_link(c.on_its_way))),
        "return (start)": (
            f"/t/{delivered}/return",
            verified(lambda: factories.make_link(c.delivered)),
        ),
        "return": (f"/r/{rma}", verified(lambda: factories.make_link(c.delivered))),
        "label": (f"/r/{rma}/label", verified(lambda: factories.make_link(c.delivered))),
        "complaint": (
            f"/t/{delivered}/complaint",
            verified(lambda: factories.make_link(c.delivered)),
        ),
        "case": (f"/c/{c.case.case_number}", verified(lambda: factories.make_link(c.second))),
        "drop-off": ("/dropoff", dropoff_desk),
        "CO2 factors": ("/about/co2", None),
    }
    rows = [
        "| page | HTML | CSS | JS | total | images, fonts (not counted) |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    over = []
    for name, (path, before) in pages.items():
        s = measure(browser, live_server, path, before)
        total = s["HTML"] + s["CSS"] + s["JS"]
        assert s["HTML"] > 500, f"{name}: no page measured ({s})"
        rows.append(
            f"| {name} `{path}` | {s['HTML']:,} | {s['CSS']:,} | {s['JS']:,} | **{total:,}** "
            f"| {s['other']:,} |"
        )
        if total >= BUDGET:
            over.append(f"{name}: {total:,} bytes")
    table = "\n".join(["Bytes per page load (headers and body), cold cache:", "", *rows])
    print("\n" + table)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "page-weight.md").write_text(table + "\n")
    assert not over, f"over {BUDGET:,} bytes of HTML+CSS+JS:\n" + "\n".join(over) + "\n" + table
