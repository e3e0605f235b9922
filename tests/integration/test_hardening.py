"""Odd and hostile input gets a clear 4xx (never a 500), and races write nothing twice."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Parcel, TrackingEvent
from tests.support import factories
from tests.support.api import baltic_parcel_body
from tests.support.threads import at_once


@pytest.fixture(autouse=True)
def baltic(db):
    return factories.make_carrier("Baltic Express")


def count(model) -> int:
    db.session.rollback()  # a fresh snapshot: other threads have committed since
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"recipient": {**baltic_parcel_body()["recipient"], "name": "Alva\u0000"}},
            "recipient.name",
        ),
        ({"order_ref": "A\u0007B"}, "order_ref"),
        (
            {"items": [{"sku": "X\u0000", "name": "Y", "quantity": 1, "unit_price": 1}]},
            "items.0.sku",
        ),
        (
            {"items": [{"sku": "X", "name": "Y", "quantity": True, "unit_price": 1}]},
            "items.0.quantity",
        ),
        (
            {"items": [{"sku": "X", "name": "Y", "quantity": "5", "unit_price": 1}]},
            "items.0.quantity",
        ),
        (
            {"recipient": {**baltic_parcel_body()["recipient"], "country": "XX"}},
            "recipient.country",
        ),
        (
            {"recipient": {**baltic_parcel_body()["recipient"], "postcode": " - - "}},
            "recipient.postcode",
        ),
        ({"tracking_number": "RR١٢٣٤٥٦٧٨٥SE"}, "tracking_number"),
    ],
)
def test_hostile_parcel_fields_are_422(merchant_api, change, field):
    res = merchant_api.post("/api/v1/parcels", json=baltic_parcel_body(**change))
    assert res.status_code == 422, res.json
    assert res.json["error"]["field"] == field
    assert count(Parcel) == 0


def test_deeply_nested_json_is_400_not_500(merchant_api):
    res = merchant_api.post(
        "/api/v1/parcels", data="[" * 100_000, headers={"Content-Type": "application/json"}
    )
    assert res.status_code == 400 and res.json["error"]["code"] == "invalid_json"


def test_full_width_postcode_is_normalised_and_verifies(merchant_api, client):
    body = baltic_parcel_body(
        recipient={**baltic_parcel_body()["recipient"], "postcode": "１１３ ４８"}
    )
    number = merchant_api.post("/api/v1/parcels", json=body).json["tracking_number"]
    res = client.get("/track", query_string={"tn": number, "postcode": "11348"})
    assert res.headers["Location"] == f"/t/{number}"
    assert "Surbrunnsgatan" in client.get(f"/t/{number}").get_data(as_text=True)


def test_carrier_may_be_left_out_when_there_is_only_one(merchant_api, baltic):
    body = baltic_parcel_body()
    del body["carrier"]
    res = merchant_api.post("/api/v1/parcels", json=body)
    assert res.status_code == 201 and res.json["carrier"] == "Baltic Express"
    factories.make_carrier("Other Post")
    other_merchant = factories.make_api_key(merchant=factories.make_merchant())
    res = merchant_api.client.post(
        "/api/v1/parcels", json=body, headers={"Authorization": f"Bearer {other_merchant}"}
    )
    assert res.status_code == 422 and res.json["error"]["code"] == "carrier_required"
    # The first merchant has only ever used Baltic Express: still the default.
    assert merchant_api.post("/api/v1/parcels", json=body).status_code == 201


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"occurred_at": "0001-01-01T00:00:00+01:00"}, "occurred_at"),
        ({"occurred_at": "1999-12-31T23:00:00Z"}, "occurred_at"),
        ({"occurred_at": 1700000000}, "occurred_at"),
        (
            {"eta_from": "9999-12-31T23:59:59-01:00", "eta_to": "9999-12-31T23:59:59-01:00"},
            "eta_from",
        ),
        ({"description": "signed\u0000"}, "description"),
    ],
)
def test_out_of_range_times_and_control_characters_reject_one_event(
    carrier_api, carrier, change, field
):
    parcel = factories.make_parcel(carrier=carrier)
    good = {
        "event_id": "ok",
        "tracking_number": parcel.tracking_number,
        "code": "in_transit",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    res = carrier_api.post(
        "/api/v1/events", json={"events": [good, {**good, "event_id": "bad", **change}]}
    )
    assert res.status_code == 200
    assert [r["status"] for r in res.json["results"]] == ["accepted", "rejected"]
    assert res.json["results"][1]["error"]["field"] == field
    assert client_page_ok(carrier_api, parcel)


def client_page_ok(api, parcel) -> bool:
    return api.client.get(f"/t/{parcel.tracking_number}").status_code == 200


def test_a_delivered_parcel_takes_no_new_eta(carrier_api, carrier):
    parcel = factories.make_parcel(carrier=carrier)
    now = datetime.now(UTC)
    factories.add_events(parcel, ("d", "delivered", now - timedelta(hours=1)))
    late = {
        "event_id": "late",
        "tracking_number": parcel.tracking_number,
        "code": "in_transit",
        "occurred_at": now.isoformat(),
        "eta_from": (now + timedelta(days=1)).isoformat(),
        "eta_to": (now + timedelta(days=1, hours=2)).isoformat(),
    }
    carrier_api.post("/api/v1/events", json={"events": [late]})
    body = carrier_api.get(f"/api/v1/parcels/{parcel.tracking_number}").json
    assert body["status"] == "delivered" and body["eta"] is None


@pytest.mark.parametrize(
    "target",
    [
        "/%09/evil.example",
        "/%0a/x",
        "/%0d/evil.example",
        "/\\evil.example",
        "//evil.example",
        "https://evil.example",
        "/%5C%5Cevil.example",
    ],
)
def test_next_parameter_never_leaves_the_site(client, target):
    res = client.get(f"/lang/sv?next={target}")
    assert res.status_code == 303
    assert res.headers["Location"] in ("/", f"{target}") and "evil" not in res.headers["Location"]


def test_error_pages_say_error_in_the_title(client):
    html = client.get("/track?tn=RA123456784GB").get_data(as_text=True)
    assert "<title>Error: Track your parcel" in html


def test_idempotency_key_works_for_events_and_webhooks(
    carrier_api, carrier, merchant_api, monkeypatch
):
    parcel = factories.make_parcel(carrier=carrier)
    batch = {"events": [factories.event_json(parcel, "e1", "in_transit")]}
    first = carrier_api.post("/api/v1/events", json=batch, headers={"Idempotency-Key": "b1"})
    again = carrier_api.post("/api/v1/events", json=batch, headers={"Idempotency-Key": "b1"})
    assert first.json == again.json and again.json["accepted"] == 1
    assert again.headers["Idempotent-Replayed"] == "true"
    other = carrier_api.post(
        "/api/v1/events", json={"events": batch["events"] * 2}, headers={"Idempotency-Key": "b1"}
    )
    assert other.status_code == 409

    hook = {"url": "https://hooks.example.com/lastmile"}
    monkeypatch.setattr("portal.services.webhooks.public_address", lambda url: True)
    a = merchant_api.post("/api/v1/webhooks", json=hook, headers={"Idempotency-Key": "w1"})
    b = merchant_api.post("/api/v1/webhooks", json=hook, headers={"Idempotency-Key": "w1"})
    assert a.status_code == b.status_code == 201 and a.json["id"] == b.json["id"]
    assert len(merchant_api.get("/api/v1/webhooks").json["webhooks"]) == 1


def sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


# SQLite (single-user embedded default) lets one writer through and may answer the others
# "503, try again"; PostgreSQL serialises them properly. Neither may answer 500 or write twice.


@pytest.mark.committed  # requests racing on threads
def test_concurrent_retries_with_one_idempotency_key_make_one_parcel(app, merchant_api):
    def post():
        return app.test_client().post(
            "/api/v1/parcels",
            json=baltic_parcel_body(),
            headers={"Authorization": f"Bearer {merchant_api.key}", "Idempotency-Key": "race"},
        )

    results = at_once(6, post)
    made = [r for r in results if r.status_code == 201]
    assert len({r.json["tracking_number"] for r in made}) == 1
    assert count(Parcel) == 1
    if sqlite():
        assert {r.status_code for r in results} <= {201, 503}
    else:
        assert len(made) == 6


@pytest.mark.committed  # requests racing on threads
def test_concurrent_creates_of_one_tracking_number_make_one_parcel(app, merchant_api):
    def post():
        return app.test_client().post(
            "/api/v1/parcels",
            json=baltic_parcel_body(tracking_number="RA123456785GB"),
            headers={"Authorization": f"Bearer {merchant_api.key}"},
        )

    codes = sorted(r.status_code for r in at_once(6, post))
    assert codes.count(201) == 1 and count(Parcel) == 1
    assert set(codes) <= ({201, 409, 503} if sqlite() else {201, 409})


@pytest.mark.committed  # requests racing on threads
def test_concurrent_copies_of_one_event_store_it_once(app, carrier_api, carrier):
    parcel = factories.make_parcel(carrier=carrier)
    batch = {"events": [factories.event_json(parcel, "same", "in_transit")]}

    def post():
        return app.test_client().post(
            "/api/v1/events", json=batch, headers={"Authorization": f"Bearer {carrier_api.key}"}
        )

    results = at_once(6, post)
    statuses = sorted(r.json["results"][0]["status"] for r in results if r.status_code == 200)
    assert statuses.count("accepted") == 1 and set(statuses) <= {"accepted", "duplicate"}
    assert count(TrackingEvent) == 1
    assert {r.status_code for r in results} <= ({200, 503} if sqlite() else {200})


@pytest.mark.committed  # the in-process sender's thread writes meanwhile
def test_a_write_call_is_not_refused_because_a_message_was_sent_meanwhile(app):
    """A merchant call reads, then writes; meanwhile the in-process sender commits. On SQLite a
    deferred transaction would then fail at once ("database is locked", a 503); the call takes
    the write lock up front instead, and the sender waits its turn."""
    from flask import g

    from portal.models import Merchant

    shop, other = factories.make_merchant(), factories.make_merchant()
    db.session.commit()
    shop_id, other_id = shop.id, other.id
    db.session.remove()
    sender_done = threading.Event()
    sender_error: list[Exception] = []

    def sender() -> None:
        with app.app_context():
            g.sqlite_writer = True
            try:
                db.session.get(Merchant, other_id).name = "Sent meanwhile"
                db.session.commit()
            except Exception as exc:  # reported below
                sender_error.append(exc)
            finally:
                db.session.remove()
                sender_done.set()

    with app.test_request_context("/api/v1/returns/X/received", method="POST"):
        merchant = db.session.get(Merchant, shop_id)  # the call reads first
        thread = threading.Thread(target=sender)
        thread.start()
        sender_done.wait(0.5)  # the sender commits now, or waits for the lock
        merchant.name = "Written after"
        db.session.commit()
        db.session.remove()
    thread.join()
    assert not sender_error
    names = {m.id: m.name for m in db.session.scalars(select(Merchant))}
    assert names[shop_id] == "Written after" and names[other_id] == "Sent meanwhile"
