"""A return waiting to be handed in shows where (issue 20): the nearest service points for a
drop-off, the nearest lockers for a locker return, with the map's tiles allowed on that page
only."""

from __future__ import annotations

import re

import pytest
import time_machine
from sqlalchemy import select

from portal.extensions import db
from portal.models import PickupPoint, ReturnStatus
from portal.returns import labels
from portal.security import CSP
from portal.services.returns import LineRequest, ReturnRequest, open_return
from tests.support import factories
from tests.support.pages import text

TILES = "https://tiles.example.net/{z}/{x}/{y}.png"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(factories.DELIVERY_NOW, tick=False):
        yield


@pytest.fixture
def delivered(db):
    factories.make_delivery_zone()  # Near Shop, Box Locker, Far Kiosk (nearest first)
    parcel, _second = factories.make_order(factories.make_merchant("Nordic Outdoor"))
    return parcel


@pytest.fixture
def returning(client, delivered, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAP_TILE_URL", TILES)
    client.get("/l/" + factories.make_link(delivered))

    def open_one(method: str):
        shirt = next(i for i in delivered.items if i.sku == "SHIRT-M")
        ret = open_return(
            delivered,
            ReturnRequest([LineRequest(shirt.id, quantity=1, reason="too_small")], method),
        )
        db.session.commit()
        return ret

    return open_one


def listed(html: str) -> list[str]:
    section = re.search(r'<ul class="hand-in"[^>]*data-pickup-map>(.*?)</ul>', html, re.S)
    return re.findall(r"<strong>([^<]+)</strong>", section.group(1)) if section else []


def test_a_drop_off_return_lists_the_nearest_service_points(client, returning):
    ret = returning("dropoff")
    assert ret.status is ReturnStatus.APPROVED
    res = client.get(f"/r/{ret.rma}")
    html = res.get_data(as_text=True)
    assert listed(html) == ["Near Shop", "Far Kiosk"]  # no locker: a desk scans the code
    assert "Where to hand it in" in text(html)
    assert re.search(r'data-lat="[\d.]+" data-lon="[\d.]+" data-kind="pickup"', html)
    assert "js/pickup-map.js" in html
    assert (
        "img-src 'self' data: https://tiles.example.net" in res.headers["Content-Security-Policy"]
    )


def test_a_locker_return_lists_the_nearest_lockers_only(client, returning):
    ret = returning("locker")
    html = client.get(f"/r/{ret.rma}").get_data(as_text=True)
    assert listed(html) == ["Box Locker"]
    assert "Nearest lockers" in text(html)


def test_once_handed_in_the_places_and_the_map_go(client, returning):
    ret = returning("dropoff")
    ret.dropped_off_at = factories.DELIVERY_NOW
    ret.status = ReturnStatus.DROPPED_OFF
    db.session.commit()
    res = client.get(f"/r/{ret.rma}")
    assert listed(res.get_data(as_text=True)) == []
    assert "pickup-map.js" not in res.get_data(as_text=True)
    assert res.headers["Content-Security-Policy"] == CSP


def test_the_places_are_in_the_recipients_language(client, returning):
    ret = returning("dropoff")
    client.get("/lang/nb")
    page = text(client.get(f"/r/{ret.rma}").get_data(as_text=True))
    assert "Her kan du levere den" in page and "Near Shop" in page


def test_the_png_label_draws_nordic_letters_not_empty_boxes():
    """The label's words, names and addresses carry å, ø, æ and €: each must be a glyph of its
    own, not the box a font draws for a letter it lacks (as Pillow's built-in font did)."""
    font = labels._font(4.0)
    missing = bytes(font.getmask("\U0001f600"))  # no emoji in DejaVu Sans: its empty box
    for letter in "åäöøæÅÄÖØÆéü€":
        assert bytes(font.getmask(letter)) != missing, letter
    assert bytes(font.getmask("ø")) != bytes(font.getmask("o"))


def test_the_return_form_shows_where_either_way_can_be_handed_in(
    client, delivered, app, monkeypatch
):
    """On the method step: service points and lockers near the address, with the map."""
    monkeypatch.setitem(app.config, "MAP_TILE_URL", TILES)
    client.get("/l/" + factories.make_link(delivered))
    res = client.get(f"/t/{delivered.tracking_number}/return")
    html = res.get_data(as_text=True)
    assert listed(html) == ["Near Shop", "Box Locker", "Far Kiosk"]
    assert "Nearest places to hand it in" in text(html) and "js/pickup-map.js" in html
    assert "https://tiles.example.net" in res.headers["Content-Security-Policy"]


def test_a_shop_taking_returns_by_locker_only_lists_lockers(client, delivered):
    factories.set_return_policy(delivered.merchant, methods=["locker"])
    client.get("/l/" + factories.make_link(delivered))
    html = client.get(f"/t/{delivered.tracking_number}/return").get_data(as_text=True)
    assert listed(html) == ["Box Locker"]


def test_places_far_away_or_in_another_country_are_not_listed(client, returning, db):
    """A return from Stockholm lists no point in Oslo, nor one 300 km away."""
    ret = returning("dropoff")
    for point in db.session.execute(select(PickupPoint)).scalars():
        if point.name == "Far Kiosk":
            point.country = "NO"
        elif point.name == "Near Shop":
            point.latitude += 3  # about 330 km north
    db.session.commit()
    assert listed(client.get(f"/r/{ret.rma}").get_data(as_text=True)) == []
