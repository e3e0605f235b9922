"""Issue 19: /me's green mile and "my data" (download everything we hold, delete the profile)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy import func, select

from portal.extensions import db
from portal.green import estimate
from portal.models import (
    DeliveryChoice,
    Parcel,
    Recipient,
    RecipientAddress,
    SignInCode,
)
from tests.support import factories, me
from tests.support.me import PHONE
from tests.support.pages import csrf_for, text


def sign_in(client, address: str = PHONE) -> Recipient:
    me.sign_in(client, address)
    return me.recipient(address)


def green_section(html: str) -> str:
    start = html.index('aria-labelledby="green-heading"')
    return html[start : html.index("</section>", start)]


def test_the_green_mile_counts_a_pickup_point_against_a_van_home_delivery(clock, client):
    parcel = factories.parcel_going_to_a_pickup_point()
    factories.make_parcel()  # no choice: a van home delivery, nothing avoided
    choice = db.session.execute(
        select(DeliveryChoice).where(DeliveryChoice.parcel_id == parcel.id)
    ).scalar_one()
    avoided = estimate.home_drop(estimate.VAN) - choice.co2e_grams
    assert avoided > 0
    sign_in(client)

    section = text(green_section(client.get("/me").get_data(as_text=True)))
    assert f"Your delivery choices avoided about {avoided} g CO2e." in section
    assert "1 parcel went green" in section
    assert "November 2026 1" in section  # the table's row for the month of the choice


def test_no_choice_no_green_mile(clock, client):
    factories.make_parcel()
    sign_in(client)
    html = client.get("/me").get_data(as_text=True)
    section = text(green_section(html))
    assert "have not avoided any CO2e yet" in section
    assert "0 parcels went green" in section
    assert "<svg" not in green_section(html)


def test_the_chart_is_drawn_on_the_server_with_a_text_alternative(clock, client):
    factories.parcel_going_to_a_pickup_point()
    sign_in(client)
    section = green_section(client.get("/me").get_data(as_text=True))
    assert "<svg" in section and 'role="img"' in section
    assert "<title" in section and "<desc" in section and "<rect" in section
    assert "<table" in section and "<caption>" in section
    assert "<script" not in section.lower()
    assert not re.search(r"\son[a-z]+=", section)  # no event handlers either
    assert 'href="/about/co2"' in section


def test_my_data_has_the_profile_both_addresses_and_nothing_of_anyone_else(clock, client):
    by_phone = factories.make_parcel(phone=PHONE, email="shop-only@example.com")
    by_email = factories.make_parcel(phone=None, email="Alva.Second@Example.com")
    someone_else = factories.make_parcel(phone="+46709999999", email="else@example.com")
    other = Recipient(addresses=[RecipientAddress(kind="phone", value="+46709999999")])
    db.session.add(other)
    recipient = sign_in(client)
    recipient.addresses.append(RecipientAddress(kind="email", value="alva.second@example.com"))
    db.session.commit()

    res = client.get("/me/data.json")
    assert res.status_code == 200 and res.mimetype == "application/json"
    assert res.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in res.headers["Cache-Control"]
    data = json.loads(res.get_data(as_text=True))

    profile = data["profile"]
    assert profile["id"] == recipient.id
    assert {"created_at", "last_seen_at", "session_epoch"} <= profile.keys()
    assert [(a["kind"], a["value"]) for a in profile["addresses"]] == [
        ("phone", PHONE),
        ("email", "alva.second@example.com"),
    ]
    assert {"verified_at", "recipient_id"} <= profile["addresses"][0].keys()
    numbers = {p["tracking_number"] for p in data["parcels"]}
    assert numbers == {by_phone.tracking_number, by_email.tracking_number}
    first = next(p for p in data["parcels"] if p["tracking_number"] == by_phone.tracking_number)
    assert first["address"]["address_line"] == "Surbrunnsgatan 14"
    assert first["items"][0]["name"] == "Trail tent"
    # Messages to either address, however the shop wrote the e-mail address.
    assert {m["to"].lower() for m in data["messages"]} == {PHONE, "alva.second@example.com"}
    assert all(m["body"] is None for m in data["messages"] if m["trigger"] == "sign_in_code")
    dump = res.get_data(as_text=True)
    assert someone_else.tracking_number not in dump
    assert "+46709999999" not in dump and "else@example.com" not in dump
    assert {"delivery_choices", "complaints", "returns"} <= data.keys()


def test_my_data_includes_my_delivery_choices(clock, client):
    parcel = factories.parcel_going_to_a_pickup_point()
    sign_in(client)
    data = client.get("/me/data.json").get_json()
    [choice] = data["delivery_choices"]
    assert choice["tracking_number"] == parcel.tracking_number
    assert choice["type"] == "pickup_point" and choice["pickup_point"]["name"] == "Near Shop"


def test_deleting_the_profile_signs_out_and_leaves_the_parcels(clock, client):
    parcel = factories.make_parcel()
    recipient = sign_in(client)
    recipient_id = recipient.id
    html = client.get("/me").get_data(as_text=True)
    assert 'action="/me/delete"' in html and "/me/data.json" in html

    # Not confirmed: nothing happens, the page says why.
    res = client.post("/me/delete", data={"csrf_token": csrf_for(client)})
    assert res.status_code == 422 and "Tick the box" in res.get_data(as_text=True)
    assert db.session.get(Recipient, recipient_id) is not None
    # Without a CSRF token: refused.
    res = client.post("/me/delete", data={"understand": "y"})
    assert res.status_code in (400, 422)
    assert db.session.get(Recipient, recipient_id) is not None

    res = client.post("/me/delete", data={"understand": "y", "csrf_token": csrf_for(client)})
    assert res.status_code == 303 and res.headers["Location"] == "/me"
    db.session.expire_all()
    assert db.session.get(Recipient, recipient_id) is None
    assert db.session.scalar(select(func.count()).select_from(RecipientAddress)) == 0
    assert db.session.scalar(select(func.count()).select_from(SignInCode)) == 0
    assert db.session.get(Parcel, parcel.id) is not None
    page = client.get("/me").get_data(as_text=True)
    assert "Your profile is deleted" in text(page)
    assert "Phone number or e-mail address" in page  # signed out: the sign-in form
    assert client.get("/me/data.json").status_code == 303


def test_not_signed_in_my_data_and_delete_go_to_me(clock, client):
    for res in (
        client.get("/me/data.json"),
        client.get("/me/delete"),
        client.post("/me/delete", data={"understand": "y", "csrf_token": csrf_for(client)}),
    ):
        assert res.status_code == 303 and res.headers["Location"] == "/me"


def test_the_green_mile_stays_after_retention_takes_the_address_off_the_parcel(clock, client, app):
    parcel = factories.parcel_going_to_a_pickup_point()
    choice = db.session.execute(
        select(DeliveryChoice).where(DeliveryChoice.parcel_id == parcel.id)
    ).scalar_one()
    avoided = estimate.home_drop(estimate.VAN) - choice.co2e_grams
    factories.add_events(parcel, ("dlv", "delivered", factories.DELIVERY_NOW))
    sign_in(client)
    before = text(green_section(client.get("/me").get_data(as_text=True)))
    assert f"avoided about {avoided} g CO2e" in before

    clock.shift(timedelta(days=100))  # past RETENTION_DAYS: the parcel is anonymised
    for _ in range(2):  # twice: banked once
        result = app.test_cli_runner().invoke(args=["retention", "run"])
        assert result.exit_code == 0, result.output
    db.session.refresh(parcel)
    assert parcel.recipient_phone is None
    sign_in(client)  # 100 days on, the session has lapsed: signed in again
    after = text(green_section(client.get("/me").get_data(as_text=True)))
    assert f"avoided about {avoided} g CO2e" in after and "1 parcel went green" in after
