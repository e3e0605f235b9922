"""The console's dashboard as a supervisor reads it: figures for a period and a merchant,
charts as SVG without scripts, every table as CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from html import unescape
from xml.etree import ElementTree

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.green import estimate
from portal.models import (
    Channel,
    ChoiceType,
    Notification,
    NotificationState,
    ParcelStatus,
    PickupPoint,
    Role,
    Slot,
    Vehicle,
)
from portal.services import complaints as complaint_service
from portal.services.delivery import ChoiceRequest, choose
from portal.services.returns import LineRequest, ReturnRequest, open_return
from tests.support import factories, staff

S = ParcelStatus
NOW = factories.DELIVERY_NOW  # Thursday 26 November 2026, 10:00 in Stockholm
# Every test at NOW, on the `clock` fixture (tests/conftest.py).
pytestmark = [pytest.mark.clock(NOW), pytest.mark.usefixtures("clock")]
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}
FAILED_THEN_DELIVERED = [
    S.PICKED_UP,
    S.OUT_FOR_DELIVERY,
    S.DELIVERY_FAILED,
    S.OUT_FOR_DELIVERY,
    S.DELIVERED,
]


@pytest.fixture
def console(client):
    staff.login(client, factories.make_agent())
    return client


def page(console, **params) -> str:
    res = console.get("/admin/dashboard", query_string=params)
    assert res.status_code == 200, res.get_data(as_text=True)[:2000]
    return unescape(res.get_data(as_text=True))


def figure(html: str, name: str) -> str:
    """A key figure's value as the page shows it in its card."""
    found = re.search(rf"<dt>{re.escape(name)}</dt><dd>(.*?)</dd>", html)
    assert found, f"no figure {name!r}"
    return found.group(1)


def download(console, table: str, **params) -> list[list[str]]:
    # buffered: the whole stream is read inside the request's own context (see IsolatedClient).
    res = console.get(f"/admin/dashboard/{table}.csv", query_string=params, buffered=True)
    assert res.status_code == 200
    assert res.mimetype == "text/csv"
    assert "attachment" in res.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(res.get_data(as_text=True))))


def delivered(merchant, statuses=factories.DELIVERED, *, days_ago: int = 3):
    return factories.make_parcel(
        merchant=merchant, statuses=statuses, start=NOW - timedelta(days=days_ago)
    )


# --- deliveries --------------------------------------------------------------------------------


def test_first_attempt_rate_counts_deliveries_without_a_failed_attempt_before(console):
    shop, other = factories.make_merchant("Outdoor Shop"), factories.make_merchant("Books")
    delivered(shop)
    delivered(shop)
    delivered(shop, FAILED_THEN_DELIVERED)
    delivered(other, FAILED_THEN_DELIVERED)
    factories.make_parcel(merchant=shop, statuses=[S.PICKED_UP, S.DELIVERY_FAILED])

    html = page(console, **NOVEMBER, merchant=shop.id)
    assert figure(html, "First-attempt delivery rate") == "66.7%"  # 2 of 3
    assert figure(html, "Failed delivery attempts") == "2"
    summary = {
        row[0]: row[1:] for row in download(console, "summary", **NOVEMBER, merchant=shop.id)
    }
    assert summary["First-attempt delivery rate"] == ["66.7", "%", "2", "3"]
    assert summary["Parcels with a failed attempt"][0] == "2"

    everyone = page(console, **NOVEMBER)
    assert figure(everyone, "First-attempt delivery rate") == "50.0%"  # 2 of 4
    assert figure(everyone, "Failed delivery attempts") == "3"


def test_delivery_before_the_period_is_not_counted(console):
    shop = factories.make_merchant()
    delivered(shop, days_ago=40)  # delivered in October
    delivered(shop)
    summary = {row[0]: row[1:] for row in download(console, "summary", **NOVEMBER)}
    assert summary["Parcels delivered"][0] == "1"


def test_merchant_filter_shows_only_that_merchants_parcels(console):
    shop, other = factories.make_merchant("Outdoor Shop"), factories.make_merchant("Books")
    delivered(shop)
    factories.make_parcel(merchant=shop, statuses=[S.PICKED_UP, S.IN_TRANSIT])
    for _ in range(3):
        factories.make_parcel(merchant=other, statuses=[S.PICKED_UP])

    rows = download(console, "parcels-by-status", **NOVEMBER, merchant=shop.id)
    assert rows == [
        ["Status", "Parcels", "Share (%)"],
        ["in_transit", "1", "50.0"],
        ["delivered", "1", "50.0"],
    ]
    html = page(console, **NOVEMBER, merchant=shop.id)
    assert "Outdoor Shop." in html  # what the page says it counted
    assert f'<option selected value="{shop.id}">Outdoor Shop</option>' in html
    everyone = download(console, "parcels-by-status", **NOVEMBER)
    assert ["picked_up", "3", "60.0"] in everyone


def test_days_run_midnight_to_midnight_in_stockholm(console, clock):
    shop = factories.make_merchant()
    # 30 November, 23:30 UTC is already 1 December, 00:30 in Stockholm.
    clock.move_to(datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    factories.make_parcel(merchant=shop)
    clock.move_to(datetime(2026, 10, 31, 23, 30, tzinfo=UTC))  # 1 November, 00:30 there
    factories.make_parcel(merchant=shop)
    clock.move_to(NOW)
    assert download(console, "parcels-by-status", **NOVEMBER)[1:] == [["pending", "1", "100.0"]]
    html = page(console, **NOVEMBER)
    assert "midnight to midnight Europe/Stockholm time" in html


# --- delivery choices --------------------------------------------------------------------------


def test_green_share_and_co2e_avoided_from_the_estimates(console):
    factories.make_delivery_zone()
    shop = factories.safe_place_merchant()
    locker = db.session.execute(
        select(PickupPoint).where(PickupPoint.is_locker.is_(True))
    ).scalar_one()
    friday_slot = (
        db.session.execute(
            select(Slot).where(Slot.day == date(2026, 11, 27)).order_by(Slot.starts_at)
        )
        .scalars()
        .first()
    )

    green_day, by_locker, by_van, changed = (factories.make_parcel(merchant=shop) for _ in range(4))
    choose(green_day, ChoiceRequest(ChoiceType.GREEN_DAY), now=NOW)
    choose(by_locker, ChoiceRequest(ChoiceType.LOCKER, pickup_point_id=locker.id), now=NOW)
    choose(by_van, ChoiceRequest(ChoiceType.SLOT, slot_id=friday_slot.id), now=NOW)
    # A green day replaced by a safe place: only the current choice counts.
    choose(changed, ChoiceRequest(ChoiceType.GREEN_DAY), now=NOW)
    choose(changed, ChoiceRequest(ChoiceType.SAFE_PLACE, place="porch"), now=NOW)
    db.session.commit()

    html = page(console, **NOVEMBER)
    assert figure(html, "Green choices") == "50.0%"  # green day and locker, of four
    van = estimate.home_drop(Vehicle.VAN)
    locker_grams = estimate.pickup(220)  # about 220 m away: walking distance
    avoided = (van - estimate.green_day()) + (van - locker_grams)
    assert figure(html, "CO2e avoided") == f"{avoided / 1000:.2f}".rstrip("0") + " kg"
    assert f"({van} g:" in html  # the baseline, stated with the method

    rows = download(console, "delivery-choices", **NOVEMBER)
    assert rows[0] == [
        "Choice",
        "Green",
        "Choices",
        "Share (%)",
        "Estimated CO2e (g)",
        "CO2e avoided (g)",
    ]
    assert rows[1:] == [
        ["slot", "no", "1", "25.0", str(estimate.home_drop(Vehicle.VAN)), ""],
        [
            "green_day",
            "yes",
            "1",
            "25.0",
            str(estimate.green_day()),
            str(van - estimate.green_day()),
        ],
        ["locker", "yes", "1", "25.0", str(locker_grams), str(van - locker_grams)],
        ["safe_place", "no", "1", "25.0", str(estimate.home_drop(attended=False)), ""],
    ]


# --- returns -----------------------------------------------------------------------------------


def test_returns_rate_and_reasons(console):
    shop = factories.make_merchant()
    first, _ = factories.make_order(shop, delivered_at=NOW - timedelta(days=5))
    delivered(shop)
    delivered(shop)
    shirt, socks = first.items[0], first.items[1]
    open_return(
        first,
        ReturnRequest(
            [
                LineRequest(parcel_item_id=shirt.id, quantity=2, reason="too_small"),
                LineRequest(parcel_item_id=socks.id, quantity=1, reason="damaged"),
            ],
            "dropoff",
        ),
        now=NOW,
    )
    db.session.commit()

    html = page(console, **NOVEMBER)
    assert figure(html, "Returns rate") == "25.0%"  # one return, four parcels delivered
    assert download(console, "return-reasons", **NOVEMBER) == [
        ["Reason", "Item lines", "Share (%)", "Units"],
        ["too_small", "1", "50.0", "2"],
        ["damaged", "1", "50.0", "1"],
    ]


# --- complaints --------------------------------------------------------------------------------


def test_complaint_volume_and_median_time_to_resolve(console, clock):
    parcel = delivered(factories.make_merchant(), days_ago=10)
    clock.move_to(NOW - timedelta(days=6))
    quick = factories.make_complaint(parcel, type="damaged")
    slow = factories.make_complaint(parcel, type="damaged")
    late = factories.make_complaint(parcel, type="late")
    still_open = factories.make_complaint(parcel, type="not_received")
    filed = quick.created_at
    complaint_service.change_status(
        quick, "resolved", resolution="reship", now=filed + timedelta(hours=2)
    )
    complaint_service.change_status(
        late, "rejected", message="It came on the promised day.", now=filed + timedelta(hours=10)
    )
    complaint_service.change_status(
        slow, "resolved", resolution="refund", amount="100", now=filed + timedelta(hours=50)
    )
    db.session.commit()
    assert still_open.closed_at is None
    clock.move_to(NOW)

    html = page(console, **NOVEMBER)
    assert figure(html, "Median time to resolve") == "10 h"
    assert download(console, "complaints", **NOVEMBER) == [
        ["Type", "Filed", "Closed", "Median time to resolve (hours)"],
        ["damaged", "2", "2", "26.0"],
        ["not_received", "1", "0", ""],
        ["late", "1", "1", "10.0"],
    ]


# --- messages ----------------------------------------------------------------------------------


def add_messages(parcel, channel: Channel, **states: int) -> None:
    for state, n in states.items():
        for i in range(n):
            db.session.add(
                Notification(
                    parcel_id=parcel.id,
                    channel=channel,
                    trigger=f"test-{state}-{i}",
                    recipient=parcel.recipient_phone
                    if channel is Channel.SMS
                    else parcel.recipient_email,
                    body="Your parcel is on its way.",
                    state=NotificationState(state),
                )
            )
    db.session.commit()


def test_sms_and_email_delivered_rates_from_the_outbox(console):
    shop = factories.make_merchant()
    parcel = factories.make_parcel(merchant=shop)
    add_messages(parcel, Channel.SMS, delivered=3, failed=1, queued=2, suppressed=1)
    add_messages(parcel, Channel.EMAIL, sent=2)
    add_messages(factories.make_parcel(), Channel.SMS, failed=5)  # another merchant's

    html = page(console, **NOVEMBER, merchant=shop.id)
    assert figure(html, "SMS delivered") == "75.0%"  # 3 of 4 sent, queued and suppressed aside
    assert figure(html, "E-mail delivered") == "0.0%"  # no receipts for e-mail yet
    rows = download(console, "messages", **NOVEMBER, merchant=shop.id)
    assert rows[0] == [
        "Channel",
        "Queued",
        "Sent",
        "Delivered",
        "Failed",
        "Suppressed",
        "Delivered rate (%)",
    ]
    # Queued also holds what creating the parcel queued; the rest is ours.
    assert rows[1][0] == "sms" and rows[1][2:] == ["0", "3", "1", "1", "75.0"]
    assert rows[2][0] == "email" and rows[2][2:] == ["2", "0", "0", "0", "0.0"]
    assert figure(page(console, **NOVEMBER), "SMS delivered") == "33.3%"  # 3 of 9


# --- CSV and charts ----------------------------------------------------------------------------


def test_csv_cells_cannot_become_spreadsheet_formulas(console):
    shop = factories.make_merchant('=HYPERLINK("http://evil.test")')
    rows = download(console, "summary", **NOVEMBER, merchant=shop.id)
    assert rows[0] == ["Figure", "Value", "Unit", "Count", "Out of"]
    assert rows[1:4] == [
        ["From", "2026-11-01", "", "", ""],
        ["To", "2026-11-30", "", "", ""],
        ["Merchant", '\'=HYPERLINK("http://evil.test")', "", "", ""],
    ]


def test_every_table_on_the_page_links_its_csv(console):
    html = page(console, **NOVEMBER)
    links = re.findall(r'href="(/admin/dashboard/[a-z-]+\.csv\?[^"]+)"', html)
    assert len(links) == 7
    for link in links:
        res = console.get(link, buffered=True)
        assert res.status_code == 200 and res.mimetype == "text/csv"


def test_charts_are_svg_images_without_scripts(console):
    shop = factories.make_merchant()
    delivered(shop)
    factories.make_parcel(merchant=shop, statuses=[S.PICKED_UP, S.OUT_FOR_DELIVERY])
    factories.make_complaint(delivered(shop), type="late")
    html = page(console, **NOVEMBER)
    # A chart for each table with something in it (no returns or choices in this period).
    charts = dict(
        re.findall(r'<img src="/admin/dashboard/([a-z-]+)\.svg\?[^"]+" alt="([^"]+)"', html)
    )
    # The delivered parcels were picked up first, so they had a promise to keep.
    assert set(charts) == {"parcels-by-status", "complaints", "messages", "promise-kept"}
    assert all("the figures are in the table below" in alt for alt in charts.values())
    for chart in (
        "parcels-by-status",
        "delivery-choices",
        "return-reasons",
        "complaints",
        "messages",
        "promise-kept",
    ):
        res = console.get(f"/admin/dashboard/{chart}.svg", query_string=NOVEMBER)
        assert res.status_code == 200
        assert res.mimetype == "image/svg+xml"
        assert res.headers["Content-Security-Policy"] == (
            "default-src 'none'; style-src 'unsafe-inline'"
        )
        root = ElementTree.fromstring(res.get_data())  # noqa: S314 - our own response
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert not [e for e in root.iter() if str(e.tag).endswith("script")]
        assert b"<script" not in res.get_data() and b"javascript" not in res.get_data().lower()
    status_chart = console.get("/admin/dashboard/parcels-by-status.svg", query_string=NOVEMBER)
    assert "Out for delivery" in status_chart.get_data(as_text=True)


# --- the form ----------------------------------------------------------------------------------


def test_defaults_to_the_last_30_days_and_all_merchants(console):
    html = page(console)
    assert 'value="2026-10-28"' in html and 'value="2026-11-26"' in html
    assert "30 days" in html and "all merchants." in html
    assert "Nothing in this period." in html


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"from": "2026-13-01", "to": "2026-11-30"}, "Enter the date as YYYY-MM-DD"),
        ({"from": "yesterday"}, "Enter the date as YYYY-MM-DD"),
        ({"from": "2026-11-30", "to": "2026-11-01"}, "The end date is before the start date."),
        ({"from": "2025-01-01", "to": "2026-11-30"}, "Choose at most 366 days."),
        ({"from": "0001-01-01", "to": "0001-01-02"}, "Choose a date between"),
        ({"merchant": "999999"}, "Choose a merchant from the list."),
    ],
)
def test_bad_input_is_told_on_the_form(console, params, error):
    res = console.get("/admin/dashboard", query_string=params)
    assert res.status_code == 422
    html = unescape(res.get_data(as_text=True))
    assert error in html
    assert "Please check the form" in html and 'aria-invalid="true"' in html
    assert console.get("/admin/dashboard/summary.csv", query_string=params).status_code == 422
    assert console.get("/admin/dashboard/messages.svg", query_string=params).status_code == 422


def test_a_full_year_is_allowed(console):
    assert (
        console.get(
            "/admin/dashboard", query_string={"from": "2025-12-01", "to": "2026-11-30"}
        ).status_code
        == 200
    )


def test_for_agents_and_supervisors_only(client):
    assert client.get("/admin/dashboard").status_code == 302
    staff.login(client, factories.make_dropoff_account())
    assert client.get("/admin/dashboard").status_code == 403
    assert client.get("/admin/dashboard/summary.csv").status_code == 403


def test_supervisor_sees_the_dashboard_in_the_menu(client):
    supervisor = factories.make_agent("boss@example.com", role=Role.SUPERVISOR)
    staff.login(client, supervisor)
    html = client.get("/admin/dashboard").get_data(as_text=True)
    assert '<a href="/admin/dashboard" aria-current="page">Dashboard</a>' in html
