"""Predicted delivery in the console (issue 18): the parcel page says when a parcel should
arrive and what that was learned from, and the dashboard how often promises were kept."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from xml.etree import ElementTree

import pytest
from sqlalchemy import update

from portal.extensions import db
from portal.models import Parcel, ParcelStatus, TransitEstimate
from tests.support import factories, staff
from tests.support.pages import text

S = ParcelStatus
NOW = factories.DELIVERY_NOW  # Thursday 26 November 2026, 10:00 in Stockholm
pytestmark = [pytest.mark.clock(NOW), pytest.mark.usefixtures("clock")]
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


@pytest.fixture
def console(client):
    staff.login(client, factories.make_agent())
    return client


@pytest.fixture
def stockholm():
    return factories.make_zone()  # postcodes 11…, where make_parcel sends its parcels


def parcel_page(console, parcel) -> str:
    res = console.get(f"/admin/parcels/{parcel.tracking_number}")
    assert res.status_code == 200
    return text(res.get_data(as_text=True))


def set_parcel(parcel, **values) -> None:
    db.session.execute(update(Parcel).where(Parcel.id == parcel.id).values(**values))
    db.session.commit()
    db.session.expire_all()


# --- the parcel page -------------------------------------------------------------------------


def test_the_parcel_page_shows_the_prediction_and_the_route_it_learned_from(console, stockholm):
    parcel = factories.make_parcel(statuses=[S.PICKED_UP, S.IN_TRANSIT])  # picked up Thursday
    set_parcel(parcel, origin_area="41")
    db.session.add(
        TransitEstimate(
            segment=f"route|{parcel.carrier_id}|41|{stockholm.id}|*",
            basis="route",
            histogram=[0, 10, 80, 10],  # working days after the pickup day
            sample_size=100,
        )
    )
    db.session.commit()

    page = parcel_page(console, parcel)
    assert (
        "Predicted: Mon 30 Nov (most likely), range Fri 27 Nov – Tue 1 Dec, "
        "100 % of 100 comparable parcels (route)"
    ) in page
    assert (
        f"Route: learned from parcels of the same carrier ({parcel.carrier.name}) from origin "
        "postcode area 41 to destination zone Stockholm."
    ) in page
    assert "past the latest day" not in page


def test_with_nothing_to_learn_from_the_page_says_it_is_the_global_default(console, stockholm):
    parcel = factories.make_parcel(statuses=[S.PICKED_UP])

    page = parcel_page(console, parcel)
    # EDD_DEFAULT_DAYS (1, 3) working days from Thursday's pickup: no most likely day, no share.
    assert "Predicted: Fri 27 Nov – Tue 1 Dec (default)" in page
    assert "global default of 1–3 working days" in page
    assert "comparable parcels (" not in page
    assert "Promised by Tue 1 Dec (the latest predicted day at pickup)." in page


def test_a_delivered_parcel_shows_its_promise_and_that_it_was_kept(console, stockholm):
    parcel = factories.make_parcel(statuses=factories.DELIVERED)

    page = parcel_page(console, parcel)
    assert "No prediction: the journey has ended." in page
    assert (
        "Promised by Tue 1 Dec (the latest predicted day at pickup); delivered Thu 26 Nov: "
        "promise kept."
    ) in page


def test_a_broken_promise_says_how_late(console, stockholm):
    parcel = factories.make_parcel(statuses=factories.DELIVERED)
    set_parcel(parcel, promised_by=date(2026, 11, 24), promise_kept=False)

    page = parcel_page(console, parcel)
    assert "Promised by Tue 24 Nov" in page
    assert "delivered Thu 26 Nov: promise not kept (2 days late)." in page


# --- the dashboard ---------------------------------------------------------------------------


def delivered(merchant, carrier, kept: bool | None, *, days_ago: int = 3):
    parcel = factories.make_parcel(
        merchant=merchant,
        carrier=carrier,
        statuses=factories.DELIVERED,
        start=NOW - timedelta(days=days_ago),
    )
    set_parcel(parcel, promise_kept=kept)
    return parcel


def download(console, key: str, **params) -> list[list[str]]:
    res = console.get(f"/admin/dashboard/{key}.csv", query_string=params, buffered=True)
    assert res.status_code == 200 and res.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(res.get_data(as_text=True))))


@pytest.fixture
def promises(stockholm):
    """One shop: Fast Post kept 3 of 4 promises in the week from Monday 23 November and 1 of 1
    the week before; Slow Post 1 of 2. Not counted: no promise, and delivered in October."""
    shop = factories.make_merchant()
    fast, slow = factories.make_carrier("Fast Post"), factories.make_carrier("Slow Post")
    for kept in (True, True, True, False):
        delivered(shop, fast, kept)
    delivered(shop, fast, True, days_ago=10)
    delivered(shop, slow, True)
    delivered(shop, slow, False)
    delivered(shop, slow, None)  # delivered without a promise
    delivered(shop, fast, False, days_ago=40)  # October
    delivered(factories.make_merchant(), fast, False)  # another shop's
    return shop


def test_the_dashboard_shows_the_share_of_promises_kept_per_carrier_zone_and_week(
    console, promises
):
    rows = download(console, "promise-kept", **NOVEMBER, merchant=promises.id)
    assert rows == [
        [
            "Carrier",
            "Zone",
            "Week from",
            "Delivered with a promise",
            "Promise kept",
            "Share kept (%)",
        ],
        ["Fast Post", "Stockholm", "2026-11-16", "1", "1", "100.0"],
        ["Fast Post", "Stockholm", "2026-11-23", "4", "3", "75.0"],
        ["Slow Post", "Stockholm", "2026-11-23", "2", "1", "50.0"],
    ]
    summary = {r[0]: r[1:] for r in download(console, "summary", **NOVEMBER, merchant=promises.id)}
    assert summary["Promise kept"] == ["71.4", "%", "5", "7"]

    res = console.get("/admin/dashboard", query_string={**NOVEMBER, "merchant": promises.id})
    html = res.get_data(as_text=True)
    page = text(html)
    assert "Fast Post Stockholm 2026-11-23 4 3 75.0%" in page
    assert re.search(r"<dt>Promise kept</dt><dd>71\.4%</dd>", html)
    table = html[html.index('id="promise-kept-h"') :]
    assert '<caption class="visually-hidden">Promise kept</caption>' in table
    assert '<th scope="col" class="num">Share kept (%)</th>' in table
    assert re.search(r'<img src="/admin/dashboard/promise-kept\.svg\?[^"]+" alt="Line chart', html)


def test_the_promise_kept_chart_is_an_svg_without_scripts(console, promises):
    res = console.get(
        "/admin/dashboard/promise-kept.svg", query_string={**NOVEMBER, "merchant": promises.id}
    )
    assert res.status_code == 200 and res.mimetype == "image/svg+xml"
    assert res.headers["Content-Security-Policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'"
    )
    root = ElementTree.fromstring(res.get_data())  # noqa: S314 - our own response
    assert not [e for e in root.iter() if str(e.tag).endswith("script")]
    svg = res.get_data(as_text=True)
    assert "Fast Post · Stockholm" in svg and "Slow Post · Stockholm" in svg
    assert "2026-11-23" in svg


def test_a_period_within_one_week_is_one_week(console, promises):
    rows = download(console, "promise-kept", **{"from": "2026-11-23", "to": "2026-11-29"})
    assert [r[:3] for r in rows[1:]] == [
        ["Fast Post", "Stockholm", "2026-11-23"],
        ["Slow Post", "Stockholm", "2026-11-23"],
    ]
    # Another shop's broken promise counts without a merchant filter.
    assert rows[1][3:] == ["5", "3", "60.0"]


def test_the_promise_kept_chart_of_an_empty_period_says_so(console):
    res = console.get("/admin/dashboard/promise-kept.svg", query_string=NOVEMBER)
    assert res.status_code == 200
    assert "Nothing in this period" in res.get_data(as_text=True)
