"""The pickup-point map of `/t/<tn>/delivery` (issue 20), as the server sends it: the CSP that
lets its tiles load there and nowhere else, and a list that is the same with or without a map."""

from __future__ import annotations

import re

import pytest
import time_machine

from portal.security import CSP, map_csp, tile_source
from tests.support import factories
from tests.support.pages import csrf_for

TILES = "https://tiles.example.net/{z}/{x}/{y}.png"
RADIO = re.compile(r"<input[^>]*name=\"pickup_point\"[^>]*>")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(factories.DELIVERY_NOW, tick=False):
        yield


@pytest.fixture
def tiles(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAP_TILE_URL", TILES)
    return TILES


@pytest.fixture
def parcel(db):
    factories.make_delivery_zone()
    return factories.make_parcel(merchant=factories.safe_place_merchant())


@pytest.fixture
def opened(client, parcel):
    client.get("/l/" + factories.make_link(parcel))
    return client


def directives(csp: str) -> dict[str, str]:
    return {d.split(" ", 1)[0]: d for d in csp.split("; ")}


def delivery(parcel) -> str:
    return f"/t/{parcel.tracking_number}/delivery"


def test_the_delivery_page_allows_images_from_the_tile_host_only(opened, parcel, tiles):
    res = opened.get(delivery(parcel))
    assert res.status_code == 200
    csp = directives(res.headers["Content-Security-Policy"])
    assert csp["img-src"] == "img-src 'self' data: https://tiles.example.net"
    # Nothing else is loosened.
    assert {k: v for k, v in csp.items() if k != "img-src"} == {
        k: v for k, v in directives(CSP).items() if k != "img-src"
    }
    assert len(res.headers.getlist("Content-Security-Policy")) == 1


def test_a_refused_choice_and_an_htmx_answer_have_the_maps_csp(opened, parcel, tiles):
    res = opened.post(
        delivery(parcel), data={"csrf_token": csrf_for(opened), "choice": "pickup_point"}
    )
    assert res.status_code == 422
    assert "https://tiles.example.net" in res.headers["Content-Security-Policy"]
    res = opened.get(
        delivery(parcel), headers={"HX-Request": "true", "HX-Target": "delivery-options"}
    )
    assert res.status_code == 200
    assert "https://tiles.example.net" in res.headers["Content-Security-Policy"]


def test_other_pages_keep_their_csp(opened, parcel, tiles):
    for path in ("/", f"/t/{parcel.tracking_number}", f"/t/{parcel.tracking_number}/return"):
        res = opened.get(path)
        assert res.status_code < 500, path
        assert res.headers["Content-Security-Policy"] == CSP, path
        assert "pickup-map" not in res.get_data(as_text=True), path


def test_the_tile_host_comes_from_the_url_template():
    assert tile_source("https://tile.openstreetmap.org/{z}/{x}/{y}.png") == (
        "https://tile.openstreetmap.org"
    )
    assert tile_source("https://{s}.tiles.example.org:8443/a/{z}/{x}/{y}@2x.png") == (
        "https://*.tiles.example.org:8443"
    )
    assert "img-src 'self' data: http://127.0.0.1:8001;" in map_csp(
        "http://127.0.0.1:8001/{z}/{x}/{y}.png"
    )
    for bad in ("/tiles/{z}/{x}/{y}.png", "javascript:alert(1)", "https://{z}.example.org/"):
        with pytest.raises(ValueError, match="MAP_TILE_URL"):
            tile_source(bad)


def test_the_map_page_carries_the_map_and_the_same_list(opened, parcel, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAP_TILE_URL", "")
    without = opened.get(delivery(parcel)).get_data(as_text=True)
    monkeypatch.setitem(app.config, "MAP_TILE_URL", TILES)
    res = opened.get(delivery(parcel))
    html = res.get_data(as_text=True)

    # The same radios, in the same order, checked and disabled alike: what the form submits.
    radios = RADIO.findall(html)
    assert len(radios) == 3
    assert radios == RADIO.findall(without)
    # The list carries coordinates; the map itself is made by the script, never in the HTML.
    assert 'data-lat="59.344" data-lon="18.053" data-kind="pickup"' in html
    assert 'data-kind="locker"' in html
    assert 'class="pickup-map"' not in html and "leaflet" not in html.split("</head>")[1]
    assert re.search(r'<script src="/static/\w+/js/pickup-map.js" defer', html)
    assert f'data-tiles="{TILES}"' in html
    assert 'data-label="Map of pickup points"' in html
    assert "&lt;a href=&#34;https://www.openstreetmap.org/copyright&#34;&gt;" in html

    # No map (an empty MAP_TILE_URL): no script, and the CSP of every other page.
    assert "pickup-map.js" not in without
    monkeypatch.setitem(app.config, "MAP_TILE_URL", "")
    assert opened.get(delivery(parcel)).headers["Content-Security-Policy"] == CSP
