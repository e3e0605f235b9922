"""Each merchant's checkout (API `delivery_choice`) may hold only its share of a slot's places,
so one merchant can't fill slots every merchant shares; recipients on their page are not limited
by it. Supervisors set the share on the merchant's console page."""

from __future__ import annotations

import threading
from datetime import date

import pytest
import time_machine
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEntry, DeliveryChoice, Merchant, Parcel, Role, Slot
from portal.services.delivery import current_choice, merchant_slot_limit
from tests.support import factories, staff
from tests.support.api import baltic_parcel_body
from tests.support.pages import csrf_token

NOW = factories.DELIVERY_NOW
FRIDAY = date(2026, 11, 27)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def zone(db):
    zone = factories.make_delivery_zone()
    factories.make_carrier("Baltic Express")
    return zone


def van_and_bike() -> tuple[Slot, Slot]:
    """Friday's 09-11 van slot (capacity 3) and 11-13 cargo bike slot (capacity 2)."""
    db.session.expire_all()
    van, bike = factories.slots_on(FRIDAY)
    return van, bike


def set_capacity(slot: Slot, capacity: int) -> Slot:
    slot.capacity = capacity
    db.session.commit()
    return slot


class Checkout:
    """A merchant's shop calling the API with its own key."""

    def __init__(self, client, merchant: Merchant):
        self.client, self.merchant = client, merchant
        self.headers = {"Authorization": f"Bearer {factories.make_api_key(merchant=merchant)}"}

    def book(self, slot: Slot, order_ref: str = "NO-1"):
        return self.client.post(
            "/api/v1/parcels",
            json=baltic_parcel_body(
                order_ref=order_ref, delivery_choice={"type": "slot", "id": slot.id}
            ),
            headers=self.headers,
        )

    def options(self):
        res = self.client.get(
            "/api/v1/delivery-options?postcode=113%2048&weight=1200", headers=self.headers
        )
        assert res.status_code == 200, res.json
        return {o["id"]: o for o in res.json["options"] if o["type"] == "slot"}


def parcels_with_ref(order_ref: str) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count(Parcel.id)).where(Parcel.order_ref == order_ref))


def booked(slot: Slot) -> int:
    db.session.expire_all()
    return db.session.get(Slot, slot.id).booked


# --- the rule through the API -----------------------------------------------------------------


def test_one_merchants_checkouts_fill_only_its_share_and_others_still_book(client):
    """The issue: eight API parcels of one shop filled a slot and another shop's checkout got
    slot_full. Now the first shop's share (50 % of 16) is 8 places; the 9th is refused with its
    own code and nothing written, and the other shop and the first shop's recipients still
    book the slot."""
    van, _ = van_and_bike()
    set_capacity(van, 16)
    first, other = factories.make_merchant("Nordic Outdoor"), factories.make_merchant("Fjäll")
    shop, rival = Checkout(client, first), Checkout(client, other)

    for n in range(8):
        assert shop.book(van, f"A-{n}").status_code == 201
    refused = shop.book(van, "A-9")
    assert refused.status_code == 409, refused.json
    error = refused.json["error"]
    assert error["code"] == "merchant_slot_share_full"
    assert error["field"] == "delivery_choice.slot"
    assert "share" in error["message"] and "8 of its 16 places" in error["message"]
    assert parcels_with_ref("A-9") == 0  # no parcel half-created
    assert booked(van) == 8

    assert rival.book(van, "B-1").status_code == 201
    assert booked(van) == 9

    # A recipient of the first shop books on their own page: only the capacity limits them.
    parcel = factories.make_parcel(merchant=first)
    factories.open_as_recipient(client, parcel)
    res = factories.post_delivery_choice(client, parcel, {"choice": "slot", "slot": van.id})
    assert res.status_code == 303, res.get_data(as_text=True)[:500]
    assert booked(van) == 10
    assert current_choice(parcel).made_by == "recipient"


def test_a_recipient_moving_an_api_booking_frees_the_merchants_share(client):
    van, bike = van_and_bike()  # 50 % of the van's 3 places: 1
    merchant = factories.make_merchant()
    shop = Checkout(client, merchant)
    first = shop.book(van, "A-1")
    assert first.status_code == 201
    assert shop.book(van, "A-2").json["error"]["code"] == "merchant_slot_share_full"

    # The recipient moves it to the bike slot: that booking is theirs, not the shop's.
    parcel = db.session.execute(
        select(Parcel).where(Parcel.tracking_number == first.json["tracking_number"])
    ).scalar_one()
    factories.open_as_recipient(client, parcel)
    res = factories.post_delivery_choice(client, parcel, {"choice": "slot", "slot": bike.id})
    assert res.status_code == 303
    assert current_choice(parcel).made_by == "recipient"

    assert shop.book(van, "A-2").status_code == 201  # the van place is the shop's again
    assert shop.book(bike, "A-3").status_code == 201  # the recipient's place isn't counted
    assert (booked(van), booked(bike)) == (1, 2)


def test_a_share_of_100_lets_a_merchant_fill_the_slot(client):
    van, _ = van_and_bike()
    shop = Checkout(client, factories.make_merchant(api_slot_share=100))
    assert [shop.book(van, f"A-{n}").status_code for n in range(3)] == [201] * 3
    assert shop.book(van, "A-4").json["error"]["code"] == "slot_full"


def test_a_full_slot_answers_slot_full_before_the_share(client):
    van, _ = van_and_bike()
    merchant = factories.make_merchant()
    shop = Checkout(client, merchant)
    assert shop.book(van, "A-1").status_code == 201
    for _ in range(2):
        factories.open_as_recipient(client, parcel := factories.make_parcel())
        factories.post_delivery_choice(client, parcel, {"choice": "slot", "slot": van.id})
    assert booked(van) == 3
    assert shop.book(van, "A-2").json["error"]["code"] == "slot_full"


def test_checkout_options_show_a_slot_unavailable_once_the_share_is_used(client):
    van, bike = van_and_bike()
    shop = Checkout(client, factories.make_merchant())
    rival = Checkout(client, factories.make_merchant())
    assert shop.book(van, "A-1").status_code == 201

    mine, theirs = shop.options(), rival.options()
    assert (mine[van.id]["available"], mine[van.id]["share_remaining"]) == (False, 0)
    assert (mine[van.id]["capacity"], mine[van.id]["remaining"]) == (3, 2)
    assert (theirs[van.id]["available"], theirs[van.id]["share_remaining"]) == (True, 1)
    assert (mine[bike.id]["available"], mine[bike.id]["share_remaining"]) == (True, 1)


@pytest.mark.parametrize(
    ("capacity", "share", "places"),
    [
        (16, 50, 8),
        (3, 50, 1),  # rounded down: two shops at 50 % never promise more than the slot has
        (7, 30, 2),
        (3, 100, 3),
        (1, 50, 1),  # but never nothing: a one-place slot can still be booked at checkout
        (10, 1, 1),
    ],
)
def test_a_share_is_rounded_down_but_never_to_nothing(capacity, share, places):
    assert merchant_slot_limit(capacity, share) == places


# --- racing checkouts -------------------------------------------------------------------------


@pytest.mark.committed  # checkouts racing on threads
def test_ten_checkouts_of_one_merchant_at_once_never_pass_its_share(app):
    """Ten API calls of one shop for a slot of ten places at once, with a share of 30 %:
    three get places, the others are told the share is used up (PostgreSQL locks the slot row
    before counting; SQLite serialises writers, some of which are told to try again)."""
    van, _ = van_and_bike()
    set_capacity(van, 10)
    merchant = factories.make_merchant(api_slot_share=30)
    key = factories.make_api_key(merchant=merchant)
    body = baltic_parcel_body(delivery_choice={"type": "slot", "id": van.id})
    barrier = threading.Barrier(10)
    answers: list[str] = []

    def book() -> None:
        client = app.test_client()
        barrier.wait()
        res = client.post("/api/v1/parcels", json=body, headers={"Authorization": f"Bearer {key}"})
        answers.append(res.json["error"]["code"] if res.status_code >= 400 else "booked")

    threads = [threading.Thread(target=book) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    db.session.rollback()
    held = db.session.scalar(
        select(func.count(DeliveryChoice.id)).where(
            DeliveryChoice.slot_id == van.id, DeliveryChoice.made_by == "merchant"
        )
    )
    assert booked(van) == held == answers.count("booked") <= 3
    if db.engine.dialect.name == "postgresql":
        assert sorted(answers) == ["booked"] * 3 + ["merchant_slot_share_full"] * 7
    else:
        assert answers.count("booked") >= 1


# --- the console ------------------------------------------------------------------------------


@pytest.fixture
def supervisor(client):
    account = factories.make_agent(email="sara@example.com", role=Role.SUPERVISOR)
    staff.login(client, account)
    return account


def share_of(merchant: Merchant) -> int:
    db.session.expire_all()
    return db.session.get(Merchant, merchant.id).api_slot_share


def test_supervisor_sees_and_changes_the_share_with_an_audit_row(client, supervisor):
    merchant = factories.make_merchant("Nordic Outdoor")
    page = f"/admin/merchants/{merchant.id}"
    html = client.get(page).get_data(as_text=True)
    assert 'name="api_slot_share"' in html and 'value="50"' in html
    assert "recipients booking on their parcel page are not limited" in html
    assert "50&nbsp;%" in client.get("/admin/merchants").get_data(as_text=True)

    # The form's token from the page the test already has in hand.
    res = client.post(
        f"{page}/slot-share", data={"csrf_token": csrf_token(html), "api_slot_share": "30"}
    )
    assert res.status_code == 303 and res.headers["Location"].endswith("#slot-share")
    assert share_of(merchant) == 30
    [entry] = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "merchant.update")
    ).scalars()
    assert entry.subject == f"merchant:{merchant.id}" and entry.actor == "sara@example.com"
    assert (entry.before, entry.after) == ({"api_slot_share": 50}, {"api_slot_share": 30})

    again = staff.post(client, f"{page}/slot-share", {"api_slot_share": "30"})
    assert again.status_code == 303
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 1  # nothing changed


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "Give a whole number from 1 to 100."),
        ("101", "Give a whole number from 1 to 100."),
        ("-5", "Give a whole number from 1 to 100."),
        ("99999999999999999999", "Give a whole number from 1 to 100."),
        ("", "Give the share as a percentage."),
        ("half", "Not a valid integer value."),
        ("12.5", "Not a valid integer value."),
    ],
)
def test_a_bad_share_is_refused_in_place_and_nothing_is_saved(client, supervisor, value, message):
    merchant = factories.make_merchant()
    page = f"/admin/merchants/{merchant.id}"
    res = staff.post(client, f"{page}/slot-share", {"api_slot_share": value})
    assert res.status_code == 422
    html = res.get_data(as_text=True)
    assert message in html and 'aria-invalid="true"' in html
    assert share_of(merchant) == 50
    assert db.session.execute(select(AuditEntry)).first() is None


def test_agents_cannot_change_the_share(client):
    merchant = factories.make_merchant()
    staff.login(client, factories.make_agent(email="aino@example.com", role=Role.AGENT))
    res = staff.post(
        client,
        f"/admin/merchants/{merchant.id}/slot-share",
        {"api_slot_share": "100"},
    )
    assert res.status_code == 403
    assert share_of(merchant) == 50
