"""The pickup points and lockers of `/t/<tn>/delivery` on a map beside their list (issue 20), in a
real browser. Map tiles come from a stand-in server on 127.0.0.1 (tests/support/tiles.py); every
other request that would leave the live server is aborted."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Response, expect

from portal.services.returns import LineRequest, ReturnRequest, open_return
from tests.browser.test_page_weight import BUDGET, COUNTED, measure
from tests.support import factories
from tests.support.axe import check_a11y
from tests.support.browser import ARTIFACTS, DESKTOP, PHONE, STOCKHOLM, screenshot
from tests.support.tiles import TileServer, tile_server

pytestmark = [pytest.mark.browser, pytest.mark.committed]  # a live server reads the data
POINTS = ["Near Shop", "Box Locker", "Far Kiosk"]  # nearest first (factories.make_delivery_zone)
ACTIVE = re.compile(r"\bis-active\b")


@pytest.fixture
def tiles(app: Flask, monkeypatch) -> Iterator[TileServer]:
    with tile_server() as server:
        monkeypatch.setitem(app.config, "MAP_TILE_URL", server.url)
        yield server


@pytest.fixture
def parcel(db):
    factories.make_delivery_zone(today=datetime.now(STOCKHOLM).date())
    return factories.make_parcel(merchant=factories.safe_place_merchant())


def local_only(context: BrowserContext, live_server: str, tiles: TileServer) -> None:
    """Nothing but the live server and the tile stand-in answers; the rest is aborted."""

    def route(r) -> None:
        url = r.request.url
        if url.startswith((live_server + "/", tiles.origin + "/")):
            r.continue_()
        else:
            r.abort()

    context.route("**/*", route)


def open_page(
    browser: Browser, live_server: str, tiles: TileServer, parcel, viewport=DESKTOP, **kw
) -> Page:
    context = browser.new_context(viewport=viewport, **kw)
    local_only(context, live_server, tiles)
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))  # type: ignore[attr-defined]
    page.goto(f"{live_server}/l/{factories.make_link(parcel)}")
    page.goto(f"{live_server}/t/{parcel.tracking_number}/delivery")
    expect(page.get_by_role("heading", name="Choose how your parcel arrives")).to_be_visible()
    return page


def show_map(page: Page) -> None:
    """Scroll the list into view (the map loads when it is near) and wait for its tiles."""
    page.locator("#pickup").scroll_into_view_if_needed()
    expect(page.locator("#pickup .pickup-marker")).to_have_count(len(POINTS))
    expect(page.locator("#pickup .leaflet-tile-loaded").first).to_be_attached()


def marker(page: Page, name: str):
    return page.locator(f"#pickup .pickup-marker[title='{name}']")


@pytest.fixture
def page(browser, live_server, tiles, parcel) -> Iterator[Page]:
    page = open_page(browser, live_server, tiles, parcel)
    yield page
    page.context.close()


def test_the_map_shows_a_marker_per_listed_point(page: Page, tiles: TileServer):
    show_map(page)
    radios = page.locator("#pickup input[name=pickup_point]")
    expect(radios).to_have_count(len(POINTS))
    for name in POINTS:
        expect(marker(page, name)).to_have_count(1)
    region = page.get_by_role("region", name="Map of pickup points")
    expect(region).to_be_visible()
    # Beside the list on a desktop.
    listed = page.locator("#pickup fieldset").bounding_box()
    shown = region.bounding_box()
    assert shown["x"] > listed["x"] + listed["width"] - 1, (listed, shown)
    # Markers and the map are out of the tab order: the list is the control.
    assert page.locator("#pickup .pickup-map [tabindex='0']:not(a)").count() == 0
    assert region.get_attribute("tabindex") is None
    assert tiles.requests, "no tile was asked for"
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_clicking_a_marker_checks_that_points_radio(page: Page):
    show_map(page)
    page.evaluate(
        """window.changed = [];
        document.querySelector('#pickup').addEventListener(
          'change', (e) => window.changed.push(e.target.value))"""
    )
    marker(page, "Box Locker").click()
    box_locker = page.get_by_label("Box Locker")
    expect(box_locker).to_be_checked()
    assert page.evaluate("window.changed") == [box_locker.get_attribute("value")]
    expect(marker(page, "Box Locker")).to_have_class(ACTIVE)

    # The form sends what the marker checked (with htmx), and the swapped-in list has its map.
    page.get_by_role("button", name="Send it here").click()
    expect(page.locator(".current-choice")).to_contain_text("Box Locker")
    show_map(page)
    expect(page.get_by_role("region", name="Map of pickup points")).to_have_count(1)
    expect(page.get_by_label("Box Locker")).to_be_checked()
    expect(marker(page, "Box Locker")).to_have_class(ACTIVE)


def test_focusing_a_radio_lights_up_its_marker_and_pans_to_it(page: Page):
    show_map(page)
    for _ in range(3):  # close in on the nearest two, so that Far Kiosk is out of view
        page.get_by_role("button", name="Zoom in").click()
        page.wait_for_timeout(300)
    page.get_by_label("Far Kiosk").focus()
    expect(marker(page, "Far Kiosk")).to_have_class(ACTIVE)
    expect(page.locator("#pickup .pickup-marker.is-active")).to_have_count(1)
    page.wait_for_timeout(400)  # the pan's animation
    shown = page.locator("#pickup .pickup-map").bounding_box()
    at = marker(page, "Far Kiosk").bounding_box()
    assert shown["x"] <= at["x"] <= shown["x"] + shown["width"], (shown, at)
    assert shown["y"] <= at["y"] <= shown["y"] + shown["height"], (shown, at)
    # Keyboard: the arrow keys move through the list, the marker follows.
    page.keyboard.press("ArrowUp")
    expect(page.get_by_label("Box Locker")).to_be_checked()
    expect(marker(page, "Box Locker")).to_have_class(ACTIVE)
    expect(marker(page, "Far Kiosk")).not_to_have_class(ACTIVE)


def test_without_javascript_there_is_no_map_and_the_list_submits(
    browser, live_server, tiles, parcel
):
    page = open_page(browser, live_server, tiles, parcel, PHONE, java_script_enabled=False)
    page.locator("#pickup").scroll_into_view_if_needed()
    expect(page.locator(".pickup-map, .has-pickup-map, .pickup-map-number")).to_have_count(0)
    expect(page.locator("#pickup label strong")).to_have_text(POINTS)
    page.get_by_label("Box Locker").check()
    page.get_by_role("button", name="Send it here").click()
    expect(page.locator(".current-choice")).to_contain_text("Box Locker")
    assert tiles.requests == []
    page.context.close()


def test_when_no_tile_loads_the_map_goes_away_and_the_list_works(page: Page, tiles):
    tiles.failing = True
    page.locator("#pickup").scroll_into_view_if_needed()
    for _ in range(50):  # the map's Leaflet loads, then it asks for tiles
        if tiles.requests:
            break
        page.wait_for_timeout(100)
    expect(page.locator(".pickup-map, .has-pickup-map, .pickup-map-number")).to_have_count(0)
    assert tiles.requests, "the map never asked for a tile"
    page.get_by_label("Near Shop").check()
    page.get_by_role("button", name="Send it here").click()
    expect(page.locator(".current-choice")).to_contain_text("Near Shop")
    # The swapped-in list does not try again.
    page.wait_for_timeout(300)
    expect(page.locator(".pickup-map")).to_have_count(0)
    assert [e for e in page.console_errors if "Failed to load" not in e] == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_screenshots_and_accessibility(browser, live_server, tiles, parcel, width):
    viewport = PHONE if width == "phone" else DESKTOP
    page = open_page(browser, live_server, tiles, parcel, viewport)
    show_map(page)
    page.get_by_label("Near Shop").focus()
    page.wait_for_timeout(400)
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#pickup").screenshot(path=str(ARTIFACTS / f"pickup-map-{width}.png"))
    screenshot(page, f"pickup-map-page-{width}")
    if width == "phone":  # below the list
        listed = page.locator("#pickup fieldset").bounding_box()
        shown = page.locator("#pickup .pickup-map").bounding_box()
        assert shown["y"] >= listed["y"] + listed["height"] - 1, (listed, shown)
    check_a11y(page, f"delivery with the pickup map ({width})")
    assert page.console_errors == []  # type: ignore[attr-defined]
    page.context.close()


def test_the_delivery_page_with_the_map_stays_under_budget(browser, live_server, tiles, parcel):
    """As tests/browser/test_page_weight.py measures it (the suite's tests run without a map);
    and what showing the map adds, once the list is near the screen (printed, not budgeted)."""
    path = f"/t/{parcel.tracking_number}/delivery"
    link = factories.make_link(parcel)
    s = measure(browser, live_server, path, lambda page, base: page.goto(f"{base}/l/{link}"))
    total = s["HTML"] + s["CSS"] + s["JS"]
    print(f"\ndelivery with the map, first load: {s} total {total:,} bytes")
    assert total < BUDGET, s

    page = open_page(browser, live_server, tiles, parcel, PHONE)
    page.context.new_cdp_session(page).send("Network.clearBrowserCache")
    sizes: dict[str, int] = {}

    def count(response: Response) -> None:
        if response.headers.get("content-type", "").split(";")[0] in COUNTED:
            wire = response.request.sizes()
            sizes[response.url] = wire["responseBodySize"] + wire["responseHeadersSize"]

    page.on("response", count)
    show_map(page)
    added = sum(sizes.values())
    print(f"showing the map loads {added:,} more bytes of CSS and JS: {sorted(sizes)}")
    page.context.close()


@pytest.fixture
def approved_return(db):
    """A drop-off return waiting to be handed in, from an address in the delivery zone."""
    factories.make_delivery_zone(today=datetime.now(STOCKHOLM).date())
    delivered, _second = factories.make_order(factories.make_merchant("Nordic Outdoor"))
    shirt = next(i for i in delivered.items if i.sku == "SHIRT-M")
    ret = open_return(
        delivered, ReturnRequest([LineRequest(shirt.id, quantity=1, reason="too_small")], "dropoff")
    )
    db.session.commit()
    return ret


def open_return_page(browser, live_server, tiles, ret, viewport=DESKTOP) -> Page:
    context = browser.new_context(viewport=viewport)
    local_only(context, live_server, tiles)
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))  # type: ignore[attr-defined]
    page.goto(f"{live_server}/l/{factories.make_link(ret.parcel)}")
    page.goto(f"{live_server}/r/{ret.rma}")
    return page


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_a_return_shows_where_to_hand_it_in_on_the_map(
    browser, live_server, tiles, approved_return, width
):
    """The return page's list has no radios: a marker lights up its entry, and a pointer over an
    entry lights up its marker."""
    viewport = PHONE if width == "phone" else DESKTOP
    page = open_return_page(browser, live_server, tiles, approved_return, viewport)
    places = page.locator("ul.hand-in")
    places.scroll_into_view_if_needed()
    expect(page.locator(".hand-in + .pickup-map .pickup-marker")).to_have_count(2)
    expect(
        page.locator(".hand-in .leaflet-tile-loaded, .pickup-map .leaflet-tile-loaded").first
    ).to_be_attached()
    page.locator(".pickup-marker[title='Far Kiosk']").click()
    expect(places.locator("li.is-lit")).to_contain_text("Far Kiosk")
    places.locator("li", has_text="Near Shop").hover()
    expect(page.locator(".pickup-marker[title='Near Shop']")).to_have_class(ACTIVE)
    page.get_by_role("link", name="Back to your parcel").focus()  # focus leaving the list
    screenshot(page, f"return-hand-in-{width}")
    check_a11y(page, f"return with the hand-in map ({width})")
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


def test_a_return_whose_tiles_fail_is_the_list_alone(browser, live_server, tiles, approved_return):
    tiles.failing = True
    page = open_return_page(browser, live_server, tiles, approved_return)
    page.locator("ul.hand-in").scroll_into_view_if_needed()
    expect(page.locator(".pickup-map")).to_have_count(0, timeout=15000)
    expect(page.locator(".pickup-map-number")).to_have_count(0)
    expect(page.locator("ul.hand-in li")).to_have_count(2)
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()
