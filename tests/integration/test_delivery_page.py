"""`/t/<tn>/delivery` as a recipient uses it: plain form posts, htmx, errors in place."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import select

from portal.extensions import db
from portal.models import DeliveryChoice, ParcelStatus, Slot
from tests.support import factories
from tests.support.pages import csrf_for, text

NOW = factories.DELIVERY_NOW


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def parcel(db):
    factories.make_delivery_zone()
    return factories.make_parcel(merchant=factories.safe_place_merchant())


@pytest.fixture
def opened(client, parcel):
    """The recipient's browser, opened from the SMS link."""
    client.get("/l/" + factories.make_link(parcel))
    return client


def url(parcel, suffix: str = "") -> str:
    return f"/t/{parcel.tracking_number}/delivery{suffix}"


def post(client, parcel, data: dict, **kwargs):
    return client.post(url(parcel), data={"csrf_token": csrf_for(client), **data}, **kwargs)


def friday_slot(index: int = 0) -> Slot:
    return (
        db.session.execute(
            select(Slot).where(Slot.day == date(2026, 11, 27)).order_by(Slot.starts_at)
        )
        .scalars()
        .all()[index]
    )


def test_unverified_visitors_are_sent_to_the_postcode_check(client, parcel):
    res = client.get(url(parcel))
    assert res.status_code == 303
    assert res.location.startswith(f"/t/{parcel.tracking_number}/verify?next=")


def test_the_page_shows_every_option_with_its_co2e(opened, parcel):
    res = opened.get(url(parcel))
    assert res.status_code == 200 and res.headers["Cache-Control"] == "private, no-store"
    page = text(res.get_data(as_text=True))
    for heading in (
        "Choose a time",
        "Green day",
        "Pickup point or locker",
        "Safe place",
        "With a neighbour",
        "Away? Hold it",
    ):
        assert heading in page
    assert "Friday 27 November" in page and "09:00–11:00" in page and "3 places left" in page
    assert page.count("Greenest") == 1
    assert "by electric cargo bike about 20 g CO2e Greenest" in page
    assert page.index("Near Shop") < page.index("Box Locker") < page.index("Far Kiosk")
    assert "Open now · closes 20:00" in page and "110 m" in page
    assert 'href="/about/co2"' in res.get_data(as_text=True)


def test_sorting_by_co2e_puts_the_greenest_first(opened, parcel):
    page = text(opened.get(url(parcel, "?sort=co2e")).get_data(as_text=True))
    sections = [page.index(h) for h in ("Choose a time", "Pickup point or locker", "Away? Hold it")]
    assert sections == sorted(sections)  # cargo bike 20 g < pickup 121 g < van 203 g
    by_time = text(opened.get(url(parcel)).get_data(as_text=True))
    assert by_time.index("Choose a time") < by_time.index("Green day")


def test_booking_a_slot_without_javascript(opened, parcel):
    slot = friday_slot()
    res = post(opened, parcel, {"choice": "slot", "slot": str(slot.id)})
    assert res.status_code == 303 and res.location == url(parcel)
    page = text(opened.get(url(parcel)).get_data(as_text=True))
    assert "Done: Delivery on Friday 27 November, 09:00-11:00" in page
    assert "Your delivery now Delivery on Friday 27 November, 09:00-11:00" in page
    assert "2 places left" in page
    assert "You can change this until Thu 26 Nov, 18:00" in page
    # The parcel page shows the change in its timeline.
    parcel_page = text(opened.get(f"/t/{parcel.tracking_number}").get_data(as_text=True))
    assert "Delivery changed Delivery on Friday 27 November" in parcel_page


def test_booking_with_htmx_answers_with_the_fragment(opened, parcel):
    slot = friday_slot(1)
    res = post(
        opened,
        parcel,
        {"choice": "slot", "slot": str(slot.id)},
        headers={"HX-Request": "true", "HX-Target": "delivery-options"},
    )
    html = res.get_data(as_text=True)
    assert res.status_code == 200
    assert html.lstrip().startswith('<div id="delivery-options">') and "<html" not in html
    assert 'role="status"' in html and "Done: Delivery on Friday 27 November, 11:00-13:00" in html


def test_errors_stay_on_the_form(opened, parcel):
    res = post(opened, parcel, {"choice": "slot"})
    assert res.status_code == 422
    assert '<p class="error" id="slot-error">Choose a time.</p>' in res.get_data(as_text=True)

    res = post(opened, parcel, {"choice": "neighbour", "neighbour_name": "Erik"})
    html = res.get_data(as_text=True)
    assert res.status_code == 422
    assert "Enter your neighbour's house or flat number." in text(html)  # (&#39; in the HTML)
    assert 'value="Erik"' in html  # what was typed is kept

    res = post(opened, parcel, {"choice": "hold", "until": "2027-02-01"})
    assert res.status_code == 422
    assert "We can hold it until Saturday 26 December at the latest." in res.get_data(as_text=True)

    res = post(opened, parcel, {"choice": "slot", "slot": "99999999999"})
    assert res.status_code == 422
    assert "Choose one of the times shown." in res.get_data(as_text=True)

    res = post(
        opened, parcel, {"choice": "neighbour", "neighbour_name": "Bo\x00", "neighbour_house": "3"}
    )
    assert res.status_code == 422 and "Remove the special characters." in res.get_data(True)

    res = post(opened, parcel, {"choice": "safe_place", "place": "other"})
    assert "Tell the driver where to leave it." in res.get_data(as_text=True)
    assert db.session.execute(select(DeliveryChoice)).first() is None


def test_a_full_slot_says_so_on_the_form(opened, parcel):
    slot = friday_slot()
    for _ in range(3):
        other = factories.make_parcel()
        from portal.services.delivery import book_slot

        book_slot(other, slot.id)
    db.session.commit()
    page = text(opened.get(url(parcel)).get_data(as_text=True))
    assert "09:00–11:00 Full" in page
    res = post(opened, parcel, {"choice": "slot", "slot": str(slot.id)})
    assert res.status_code == 409
    assert "That time has just filled up. Please choose another." in res.get_data(as_text=True)


def test_after_the_cutoff_the_page_says_why_not(opened, parcel):
    post(opened, parcel, {"choice": "slot", "slot": str(friday_slot().id)})
    with time_machine.travel(NOW + timedelta(hours=8), tick=False):  # 18:00 Thursday
        page = text(opened.get(url(parcel)).get_data(as_text=True))
        assert "Changes are closed" in page
        assert "Changes closed at 18:00 on Thursday 26 November" in page
        assert "choose a new time or a pickup point after the driver's attempt" in page
        assert "Book this time" not in page


def test_a_failed_delivery_offers_rebooking_and_pickup_only(opened, parcel):
    factories.add_events(
        parcel,
        ("o", "out_for_delivery", NOW - timedelta(hours=3)),
        ("f", "delivery_failed", NOW - timedelta(hours=1)),
    )
    assert parcel.status is ParcelStatus.DELIVERY_FAILED
    page = text(opened.get(url(parcel)).get_data(as_text=True))
    assert "We couldn't deliver your parcel." in page
    assert "Choose a new delivery day up to Thursday 3 December" in page
    assert "Choose a time" in page and "Pickup point or locker" in page
    assert "With a neighbour" not in page and "Friday 4 December" not in page


def test_the_co2_page_lists_factors_with_sources(client):
    page = text(client.get("/about/co2").get_data(as_text=True))
    assert "181 g CO2e / drop" in page and "Edwards, McKinnon & Cullinane (2010)" in page
    assert "0.12 share of first attempts" in page
    assert "Verlinghieri" in page and "170 g CO2e / km" in page
    assert "estimates" in page
