"""Carriers push tracking events: late, twice and out of order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import ParcelStatus, TrackingEvent
from tests.support import factories

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def event(parcel, event_id, code, at, **extra):
    return factories.event_json(parcel, event_id, code, at, description="scan", **extra)


@pytest.fixture
def parcel(carrier):
    return factories.make_parcel(carrier=carrier)


def status_of(carrier_api, parcel):
    return carrier_api.get(f"/api/v1/parcels/{parcel.tracking_number}").json["status"]


def event_count() -> int:
    return db.session.execute(select(func.count(TrackingEvent.id))).scalar_one()


def test_events_move_the_status_and_timeline_orders_by_occurred_at(carrier_api, parcel):
    res = carrier_api.post(
        "/api/v1/events",
        json={
            "events": [
                event(parcel, "e2", "in_transit", T0 + timedelta(hours=2)),
                event(parcel, "e1", "picked_up", T0),
            ]
        },
    )
    assert res.status_code == 200
    assert res.json["accepted"] == 2 and res.json["duplicate"] == res.json["rejected"] == 0
    assert [r["status"] for r in res.json["results"]] == ["accepted", "accepted"]
    body = carrier_api.get(f"/api/v1/parcels/{parcel.tracking_number}").json
    assert body["status"] == "in_transit"
    assert [e["event_id"] for e in body["events"]] == ["e1", "e2"]


def test_duplicate_events_change_nothing(carrier_api, parcel):
    batch = {"events": [event(parcel, "e1", "picked_up", T0)]}
    carrier_api.post("/api/v1/events", json=batch)
    again = carrier_api.post(
        "/api/v1/events",
        json={"events": [event(parcel, "e1", "delivered", T0 + timedelta(hours=5))] * 2},
    )
    assert [r["status"] for r in again.json["results"]] == ["duplicate", "duplicate"]
    assert status_of(carrier_api, parcel) == "picked_up"
    assert event_count() == 1


def test_same_event_twice_in_one_batch_is_a_duplicate(carrier_api, parcel):
    e = event(parcel, "e1", "picked_up", T0)
    res = carrier_api.post("/api/v1/events", json={"events": [e, e]})
    assert [r["status"] for r in res.json["results"]] == ["accepted", "duplicate"]


def test_stale_event_never_moves_status_back(carrier_api, parcel):
    carrier_api.post(
        "/api/v1/events",
        json={"events": [event(parcel, "e3", "out_for_delivery", T0 + timedelta(hours=3))]},
    )
    carrier_api.post("/api/v1/events", json={"events": [event(parcel, "e1", "in_transit", T0)]})
    assert status_of(carrier_api, parcel) == "out_for_delivery"


@pytest.mark.parametrize("terminal", ["delivered", "return_to_sender", "cancelled"])
def test_terminal_status_is_final_even_for_newer_events(carrier_api, parcel, terminal):
    carrier_api.post("/api/v1/events", json={"events": [event(parcel, "t", terminal, T0)]})
    carrier_api.post(
        "/api/v1/events",
        json={
            "events": [
                event(parcel, "late", "in_transit", T0 - timedelta(hours=5)),
                event(parcel, "newer", "out_for_delivery", T0 + timedelta(hours=1)),
            ]
        },
    )
    assert status_of(carrier_api, parcel) == terminal


def test_late_terminal_event_wins_over_newer_non_terminal(carrier_api, parcel):
    carrier_api.post(
        "/api/v1/events",
        json={"events": [event(parcel, "ofd", "out_for_delivery", T0 + timedelta(hours=2))]},
    )
    carrier_api.post(
        "/api/v1/events",
        json={"events": [event(parcel, "dlv", "delivered", T0 + timedelta(hours=1))]},
    )
    assert status_of(carrier_api, parcel) == "delivered"


def test_eta_window_follows_the_newest_event_that_has_one(carrier_api, parcel):
    newer = (T0 + timedelta(days=1), T0 + timedelta(days=1, hours=2))
    older = (T0 + timedelta(days=2), T0 + timedelta(days=2, hours=2))
    carrier_api.post(
        "/api/v1/events",
        json={
            "events": [
                event(
                    parcel,
                    "a",
                    "in_transit",
                    T0 + timedelta(hours=5),
                    eta_from=newer[0].isoformat(),
                    eta_to=newer[1].isoformat(),
                ),
                event(
                    parcel,
                    "b",
                    "in_transit",
                    T0,
                    eta_from=older[0].isoformat(),
                    eta_to=older[1].isoformat(),
                ),
            ]
        },
    )
    eta = carrier_api.get(f"/api/v1/parcels/{parcel.tracking_number}").json["eta"]
    assert datetime.fromisoformat(eta["from"]) == newer[0]
    assert datetime.fromisoformat(eta["to"]) == newer[1]


def test_bad_events_are_rejected_one_by_one_with_why(carrier_api, parcel):
    other_carriers = factories.make_parcel(carrier=factories.make_carrier("Other Post"))
    future = datetime.now(UTC) + timedelta(days=2)
    res = carrier_api.post(
        "/api/v1/events",
        json={
            "events": [
                event(parcel, "ok", "picked_up", T0),
                {**event(parcel, "naive", "in_transit", T0), "occurred_at": "2026-11-20T10:00:00"},
                event(parcel, "future", "in_transit", future),
                event(parcel, "weird", "teleported", T0),
                {**event(parcel, "unknown", "in_transit", T0), "tracking_number": "RR000000005SE"},
                {**event(parcel, "typo", "in_transit", T0), "tracking_number": "RA123456784GB"},
                event(other_carriers, "theirs", "delivered", T0),
                event(parcel, "eta", "in_transit", T0, eta_from=T0.isoformat()),
                "not an object",
            ]
        },
    )
    assert res.status_code == 200
    results = res.json["results"]
    assert [r["status"] for r in results] == ["accepted"] + ["rejected"] * 8
    fields = [r["error"]["field"] for r in results[1:]]
    assert fields == [
        "occurred_at",
        "occurred_at",
        "code",
        "tracking_number",
        "tracking_number",
        "tracking_number",
        "eta_to",
        None,
    ]
    assert results[3]["error"]["code"] == "unknown_code"
    assert results[6]["error"]["code"] == "unknown_parcel"
    # The other carrier's parcel did not move.
    assert other_carriers.status == ParcelStatus.PENDING
    assert event_count() == 1


def test_more_than_1000_events_is_413_and_writes_nothing(carrier_api, parcel):
    events = [event(parcel, f"e{i}", "in_transit", T0) for i in range(1001)]
    res = carrier_api.post("/api/v1/events", json={"events": events})
    assert res.status_code == 413
    assert res.json["error"] == {
        "code": "batch_too_large",
        "message": res.json["error"]["message"],
        "field": "events",
    }
    assert event_count() == 0


def test_a_full_batch_of_1000_is_accepted(carrier_api, parcel):
    events = [event(parcel, f"e{i}", "in_transit", T0 + timedelta(minutes=i)) for i in range(1000)]
    res = carrier_api.post("/api/v1/events", json={"events": events})
    assert res.json["accepted"] == 1000
    assert event_count() == 1000


def test_merchant_key_cannot_post_events(merchant_api, parcel):
    res = merchant_api.post(
        "/api/v1/events", json={"events": [event(parcel, "x", "delivered", T0)]}
    )
    assert res.status_code == 403


@pytest.mark.parametrize("body", [{}, {"events": []}, {"events": "many"}, {"evnts": []}])
def test_malformed_batches_are_422(carrier_api, body):
    res = carrier_api.post("/api/v1/events", json=body)
    assert res.status_code == 422
    assert res.json["error"]["field"] in {"events", "evnts"}


def test_failed_attempt_voids_the_old_delivery_window(carrier_api, parcel, client):
    window = {"eta_from": T0.isoformat(), "eta_to": (T0 + timedelta(hours=2)).isoformat()}
    carrier_api.post(
        "/api/v1/events",
        json={
            "events": [
                event(parcel, "ofd", "out_for_delivery", T0 - timedelta(hours=2), **window),
                event(parcel, "fail", "delivery_failed", T0 + timedelta(hours=1)),
            ]
        },
    )
    assert carrier_api.get(f"/api/v1/parcels/{parcel.tracking_number}").json["eta"] is None
    assert "Expected" not in client.get(f"/t/{parcel.tracking_number}").get_data(as_text=True)
    # The next attempt's window shows again.
    later = {
        "eta_from": (T0 + timedelta(days=1)).isoformat(),
        "eta_to": (T0 + timedelta(days=1, hours=2)).isoformat(),
    }
    carrier_api.post(
        "/api/v1/events",
        json={
            "events": [event(parcel, "ofd2", "out_for_delivery", T0 + timedelta(days=1), **later)]
        },
    )
    assert carrier_api.get(f"/api/v1/parcels/{parcel.tracking_number}").json["eta"] is not None
