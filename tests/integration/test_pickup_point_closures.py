"""What a recipient sees of closed slots, closed pickup points and opening hours on the
delivery page and the parcel page, and what posting a closed option gets them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from portal.extensions import db
from portal.models import ChoiceType, ParcelStatus
from portal.services import delivery_options
from portal.services.delivery import ChoiceRequest, choose
from portal.services.errors import DomainError
from portal.services.network import closures
from tests.support import factories

NOW = factories.DELIVERY_NOW  # Thursday 26 November 2026, 10:00 in Stockholm
C = ChoiceType


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def parcel(db):
    factories.make_delivery_zone()
    return factories.make_parcel()


@pytest.fixture
def opened(client, parcel):
    return factories.open_as_recipient(client, parcel)


def delivery_page(client, parcel) -> str:
    return client.get(f"/t/{parcel.tracking_number}/delivery").get_data(as_text=True)


def offered_points(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'id="pickup-(\d+)"', html)}


# --- closed slots ----------------------------------------------------------------------------


def test_a_closed_slot_is_not_offered_and_is_refused_when_posted(opened, parcel):
    van, bike = factories.slots_on(date(2026, 11, 27))
    closures.close_slot(van, reason="Van in for repair", now=NOW)
    db.session.commit()
    html = delivery_page(opened, parcel)
    assert f'id="slot-{van.id}"' not in html and f'id="slot-{bike.id}"' in html

    # A page opened before the closure still has the time on it.
    res = factories.post_delivery_choice(opened, parcel, {"choice": "slot", "slot": van.id})
    assert res.status_code == 409
    assert "That time is no longer offered. Please choose another." in res.get_data(as_text=True)
    with pytest.raises(DomainError) as refused:
        choose(parcel, ChoiceRequest(C.SLOT, slot_id=van.id), now=NOW)
    assert (refused.value.code, refused.value.field) == ("slot_closed", "slot")


# --- closed pickup points --------------------------------------------------------------------


def test_a_point_closed_for_good_is_not_offered_and_is_refused(opened, parcel):
    near = factories.pickup_point("Near Shop")
    closures.close_point(near, closed_from=date(2026, 11, 20), reason="Shop closed down", now=NOW)
    db.session.commit()
    html = delivery_page(opened, parcel)
    assert near.id not in offered_points(html) and "Near Shop" not in html
    assert factories.pickup_point("Box Locker").id in offered_points(html)

    res = factories.post_delivery_choice(
        opened, parcel, {"choice": "pickup_point", "pickup_point": near.id}
    )
    assert res.status_code == 409
    assert "Near Shop has closed: choose another pickup point." in factories.page_text(
        res.get_data(as_text=True)
    )
    with pytest.raises(DomainError) as refused:
        choose(parcel, ChoiceRequest(C.PICKUP_POINT, pickup_point_id=near.id), now=NOW)
    assert (refused.value.code, refused.value.field) == ("pickup_point_closed", "pickup_point")


def test_a_point_that_will_close_for_good_is_no_longer_offered(parcel):
    near = factories.pickup_point("Near Shop")
    near.closed_from = date(2027, 1, 15)  # announced: closes for good in January
    db.session.commit()
    options = delivery_options.for_parcel(parcel, NOW)
    assert "Near Shop" not in [o.label for o in options.pickup_points]
    with pytest.raises(DomainError, match="Near Shop closes for good on Friday 15 January"):
        choose(parcel, ChoiceRequest(C.PICKUP_POINT, pickup_point_id=near.id), now=NOW)


def test_a_point_closed_today_is_not_offered(opened, parcel):
    near = factories.pickup_point("Near Shop")
    closures.close_point(
        near,
        closed_from=date(2026, 11, 26),
        closed_until=date(2026, 11, 30),
        reason="Renovation",
        now=NOW,
    )
    db.session.commit()
    assert near.id not in offered_points(delivery_page(opened, parcel))
    res = factories.post_delivery_choice(
        opened, parcel, {"choice": "pickup_point", "pickup_point": near.id}
    )
    assert res.status_code == 409
    assert (
        "Near Shop is closed from Thursday 26 November to Monday 30 November: choose another "
        "pickup point." in factories.page_text(res.get_data(as_text=True))
    )


def test_a_closure_after_the_parcels_stay_leaves_the_point_on_offer(db):
    factories.make_delivery_zone()
    arrives = (datetime(2026, 11, 27, 8, tzinfo=UTC), datetime(2026, 11, 27, 10, tzinfo=UTC))
    parcel = factories.make_parcel(statuses=[ParcelStatus.IN_TRANSIT], eta=arrives)
    near = factories.pickup_point("Near Shop")
    # Arrives Friday 27 November and is kept 7 days, to Friday 4 December.
    near.closed_from, near.closed_until = date(2026, 12, 7), date(2026, 12, 9)
    db.session.commit()
    options = delivery_options.for_parcel(parcel, NOW)
    assert "Near Shop" in [o.label for o in options.pickup_points]
    choose(parcel, ChoiceRequest(C.PICKUP_POINT, pickup_point_id=near.id), now=NOW)

    # A closure during its stay takes the point off the list.
    near.closed_from, near.closed_until = date(2026, 12, 3), date(2026, 12, 9)
    db.session.commit()
    options = delivery_options.for_parcel(parcel, NOW)
    assert "Near Shop" not in [o.label for o in options.pickup_points]


def test_a_closed_locker_is_not_offered_either(parcel):
    locker = factories.pickup_point("Box Locker")
    closures.close_point(locker, closed_from=date(2026, 11, 25), reason="Vandalised", now=NOW)
    db.session.commit()
    options = delivery_options.for_parcel(parcel, NOW)
    assert [o.label for o in options.pickup_points] == ["Near Shop", "Far Kiosk"]
    with pytest.raises(DomainError, match="Box Locker has closed"):
        choose(parcel, ChoiceRequest(C.LOCKER, pickup_point_id=locker.id), now=NOW)


# --- opening hours on the pages --------------------------------------------------------------


def test_the_delivery_page_says_whether_each_point_is_open_now(opened, parcel):
    page = factories.page_text(delivery_page(opened, parcel))
    assert "Near Shop Pickup point · 110 m Near Shop street 1, 113 50 Stockholm" in page
    assert page.count("Open now · closes 20:00") == 3
    assert "Mo-Fr" not in page  # never the raw OpenStreetMap text


def test_opening_hours_in_swedish(client, db):
    factories.make_delivery_zone()
    parcel = factories.make_parcel(language="sv")
    factories.open_as_recipient(client, parcel)
    page = factories.page_text(delivery_page(client, parcel))
    assert page.count("Öppet nu · stänger 20:00") == 3


def test_on_a_saturday_evening_the_page_says_when_points_open_again(opened, parcel, frozen):
    frozen.move_to(datetime(2026, 11, 28, 16, 30, tzinfo=UTC))  # Saturday 17:30
    page = factories.page_text(delivery_page(opened, parcel))
    assert "Closed now · opens Monday 08:00" in page


def test_on_christmas_day_the_page_names_the_holiday_closure_in_both_languages(client, db):
    with time_machine.travel(datetime(2026, 12, 25, 9, tzinfo=UTC), tick=False):  # 10:00
        factories.make_delivery_zone(today=date(2026, 12, 25))
        english = factories.make_parcel()
        swedish = factories.make_parcel(language="sv")
        factories.open_as_recipient(client, english)
        page = factories.page_text(delivery_page(client, english))
        # Closed Friday 25 and Saturday 26 (public holidays), and on Sundays.
        assert "Closed today (public holiday) · opens Monday 08:00" in page
        factories.open_as_recipient(client, swedish)
        page = factories.page_text(delivery_page(client, swedish))
        assert "Stängt i dag (helgdag) · öppnar måndag 08:00" in page


def test_the_parcel_page_shows_the_chosen_points_hours(opened, parcel, frozen):
    near = factories.pickup_point("Near Shop")
    choose(parcel, ChoiceRequest(C.PICKUP_POINT, pickup_point_id=near.id), now=NOW)
    db.session.commit()
    page = factories.page_text(opened.get(f"/t/{parcel.tracking_number}").get_data(as_text=True))
    assert "Pickup point: Near Shop, Near Shop street 1 Open now · closes 20:00" in page
    delivery = factories.page_text(delivery_page(opened, parcel))
    assert "Your delivery now Pickup point: Near Shop, Near Shop street 1 Open now" in delivery

    frozen.move_to(NOW + timedelta(hours=11))  # 21:00
    page = factories.page_text(opened.get(f"/t/{parcel.tracking_number}").get_data(as_text=True))
    assert "Closed now · opens tomorrow 08:00" in page


def test_the_parcel_page_shows_no_hours_to_someone_who_has_not_verified(client, parcel):
    near = factories.pickup_point("Near Shop")
    choose(parcel, ChoiceRequest(C.PICKUP_POINT, pickup_point_id=near.id), now=NOW)
    db.session.commit()
    page = factories.page_text(client.get(f"/t/{parcel.tracking_number}").get_data(as_text=True))
    assert "Near Shop" not in page and "Open now" not in page


def test_a_withdrawn_point_is_no_longer_shown_as_the_choice(opened, parcel):
    near = factories.pickup_point("Near Shop")
    choose(parcel, ChoiceRequest(C.PICKUP_POINT, pickup_point_id=near.id), now=NOW)
    db.session.commit()
    closures.close_point(near, closed_from=date(2026, 11, 26), reason="Fire", now=NOW)
    db.session.commit()
    page = factories.page_text(opened.get(f"/t/{parcel.tracking_number}").get_data(as_text=True))
    assert "When and how it arrives Pick a time" in page  # no choice in force
    assert "Open now" not in page
