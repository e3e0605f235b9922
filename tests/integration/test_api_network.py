"""The delivery network through the API: zones, the nearest pickup points, and a carrier's own
points one by one (PUT, DELETE) or as a GeoJSON collection (import), as a client sees them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from openapi_spec_validator import validate
from sqlalchemy import select, text

from portal.extensions import db
from portal.models import (
    ChoiceType,
    ClosedDay,
    Notification,
    Parcel,
    ParcelStatus,
    PickupPoint,
    Zone,
)
from portal.services import delivery
from portal.services.network import closures, nearest
from tests.support import factories

NOW = factories.DELIVERY_NOW  # Thursday 26 November 2026, 10:00 in Stockholm
TODAY = date(2026, 11, 26)
# Around the centre of postcode area 113 (factories.VASASTAN, 59.3430 N 18.0530 E): a degree
# of latitude is about 111 km.
NEAR, MIDDLE, FAR = 59.3436, 59.3500, 59.3700  # about 70 m, 780 m and 3 km north


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def zone(db) -> Zone:
    return factories.make_delivery_zone()


def auth(api, headers: dict | None = None) -> dict:
    return {"Authorization": f"Bearer {api.key}", **(headers or {})}


def put(api, external_id: str, body, headers: dict | None = None):
    return api.client.put(
        f"/api/v1/pickup-points/{external_id}", json=body, headers=auth(api, headers)
    )


def delete(api, external_id: str):
    return api.client.delete(f"/api/v1/pickup-points/{external_id}", headers=auth(api))


def point_body(**changes) -> dict:
    return {
        "name": "Pressbyrån Odenplan",
        "type": "pickup_point",
        "address_line": "Odenplan 1",
        "postcode": "113 22",
        "city": "Stockholm",
        "country": "SE",
        "latitude": MIDDLE,
        "longitude": 18.0530,
        "opening_hours": "Mo-Fr 08:00-20:00; Sa 10:00-14:00; PH off",
        **changes,
    }


def feature(external_id: str, latitude: float, longitude: float = 18.0530, **changes) -> dict:
    props = {k: v for k, v in point_body(**changes).items() if k not in ("latitude", "longitude")}
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [longitude, latitude]},
        "properties": {"external_id": external_id, **props},
    }


def import_points(api, *features: dict, query: str = "", headers: dict | None = None):
    return api.post(
        f"/api/v1/pickup-points/import{query}",
        json={"type": "FeatureCollection", "features": list(features)},
        headers=headers,
    )


def nearby(api, query: str = "postcode=113%2048"):
    return api.get(f"/api/v1/pickup-points?{query}")


def carrier_points(carrier) -> list[PickupPoint]:
    return list(
        db.session.execute(
            select(PickupPoint)
            .where(PickupPoint.carrier_id == carrier.id)
            .order_by(PickupPoint.external_id)
        ).scalars()
    )


def book(point_id: int, kind: ChoiceType = ChoiceType.PICKUP_POINT) -> Parcel:
    """A parcel in transit whose recipient chose the point."""
    parcel = factories.make_parcel(statuses=[ParcelStatus.IN_TRANSIT])
    delivery.choose(parcel, delivery.ChoiceRequest(kind, pickup_point_id=point_id), confirm=False)
    db.session.commit()
    return parcel


def withdrawn(parcel: Parcel) -> list[Notification]:
    return list(
        db.session.execute(
            select(Notification).where(
                Notification.parcel_id == parcel.id, Notification.trigger == "choice_withdrawn"
            )
        ).scalars()
    )


# --- GET /zones ------------------------------------------------------------------------------


def test_zones_list_prefixes_cutoff_green_day_and_closed_days_from_today(
    merchant_api, carrier_api, zone
):
    for day, reason in ((TODAY - timedelta(days=1), "Past"), (date(2026, 12, 24), "Christmas")):
        db.session.add(ClosedDay(zone_id=zone.id, day=day, reason=reason))
    db.session.commit()

    res = merchant_api.get("/api/v1/zones")
    assert res.status_code == 200, res.json
    assert res.json == {
        "zones": [
            {
                "id": zone.id,
                "name": "Stockholm",
                "country": "SE",
                "time_zone": "Europe/Stockholm",
                "green_weekday": "Tu",
                "cutoff": "18:00",
                "prefixes": [{"prefix": "113", "latitude": 59.343, "longitude": 18.053}],
                "closed_days": [{"date": "2026-12-24", "reason": "Christmas"}],
            }
        ]
    }
    assert carrier_api.get("/api/v1/zones").json == res.json


def test_zones_need_a_key(client):
    res = client.get("/api/v1/zones")
    assert res.status_code == 401
    assert res.json["error"]["code"] == "unauthorized"


# --- PUT /pickup-points/<external_id> ----------------------------------------------------------


def test_put_creates_a_point_then_updates_it_and_again_changes_nothing(carrier_api, carrier):
    res = put(carrier_api, "SE-1001", point_body())
    assert res.status_code == 201, res.json
    assert res.headers["Location"] == "/api/v1/pickup-points/SE-1001"
    assert res.json == {
        "external_id": "SE-1001",
        "carrier": carrier.name,
        **point_body(),
        "capacity": None,
        "zone": "Stockholm",
        "closed_from": None,
        "closed_until": None,
        "closed_reason": None,
        "result": "created",
        "reopened": False,
    }

    same = put(carrier_api, "SE-1001", point_body())
    assert (same.status_code, same.json["result"]) == (200, "unchanged")

    renamed = put(carrier_api, "SE-1001", point_body(name="Pressbyrån Odenplan T-bana"))
    assert (renamed.status_code, renamed.json["result"]) == (200, "updated")
    (point,) = carrier_points(carrier)
    assert point.name == "Pressbyrån Odenplan T-bana" and point.zone_id is not None


def test_put_a_locker_with_its_compartments(carrier_api):
    res = put(carrier_api, "BOX/Łódź 1", point_body(type="locker", capacity=24))
    assert res.status_code == 201, res.json
    assert res.headers["Location"] == "/api/v1/pickup-points/BOX/%C5%81%C3%B3d%C5%BA%201"
    assert (res.json["external_id"], res.json["type"], res.json["capacity"]) == (
        "BOX/Łódź 1",
        "locker",
        24,
    )
    assert delete(carrier_api, "BOX/%C5%81%C3%B3d%C5%BA%201").status_code == 200


def test_put_names_every_bad_field_and_writes_nothing(carrier_api, carrier):
    res = put(carrier_api, "SE-1001", point_body(latitude=91, opening_hours="Mo-Fr 25:00-26:00"))
    assert res.status_code == 422
    error = res.json["error"]
    assert (error["code"], error["field"]) == ("invalid_pickup_point", "latitude")
    assert "out of range" in error["message"]
    assert {d["field"] for d in error["details"]} == {"latitude", "opening_hours"}
    assert carrier_points(carrier) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (point_body(type="kiosk"), "type"),
        (point_body(type="locker"), "capacity"),  # a locker needs its compartments
        (point_body(capacity=5), "capacity"),  # a pickup point has none
        (point_body(name={"sv": "Kiosk"}), "name"),
        (point_body(longitude="east"), "longitude"),
        (point_body(latitude=int("9" * 400)), "latitude"),
        (point_body(colour="blue"), "colour"),
        (point_body(carrier="Someone Else"), "carrier"),
        (point_body(external_id="SE-2002"), "external_id"),
        ({k: v for k, v in point_body().items() if k != "city"}, "city"),
        ([point_body()], None),
    ],
)
def test_put_refuses_a_bad_body_with_its_field(carrier_api, body, field):
    res = put(carrier_api, "SE-1001", body)
    assert res.status_code == 422, res.json
    assert res.json["error"]["field"] == field


def test_put_refuses_an_external_id_with_spaces_at_either_end(carrier_api, carrier):
    res = put(carrier_api, "SE-1001%20", point_body())
    assert res.status_code == 422
    assert res.json["error"]["field"] == "external_id"
    assert carrier_points(carrier) == []


def test_put_refuses_what_is_not_json(carrier_api):
    for raw in (b"{", b'{"latitude": NaN}', b'{"name": "\\ud800"}'):
        res = carrier_api.client.put(
            "/api/v1/pickup-points/SE-1001",
            data=raw,
            headers=auth(carrier_api, {"Content-Type": "application/json"}),
        )
        assert res.status_code == 400, raw
        assert res.json["error"]["code"] == "invalid_json"


def test_put_is_idempotent_with_a_key(carrier_api, carrier):
    key = {"Idempotency-Key": "points-2026-11-26"}
    first = put(carrier_api, "SE-1001", point_body(), headers=key)
    again = put(carrier_api, "SE-1001", point_body(), headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    other = put(carrier_api, "SE-1001", point_body(name="Other"), headers=key)
    assert other.status_code == 409
    assert other.json["error"]["code"] == "idempotency_key_reused"
    assert len(carrier_points(carrier)) == 1


def test_merchant_keys_cannot_change_points(merchant_api):
    assert put(merchant_api, "SE-1001", point_body()).status_code == 403
    assert delete(merchant_api, "SE-1001").status_code == 403
    res = import_points(merchant_api, feature("SE-1001", NEAR))
    assert res.status_code == 403
    assert res.json["error"] == {
        "code": "forbidden",
        "message": "This call needs a carrier key.",
        "field": None,
    }


def test_a_locker_cannot_drop_below_its_booked_compartments(carrier_api):
    created = put(carrier_api, "BOX-1", point_body(type="locker", capacity=2))
    point_id = db.session.execute(
        select(PickupPoint.id).where(PickupPoint.external_id == "BOX-1")
    ).scalar_one()
    assert created.status_code == 201
    book(point_id, ChoiceType.LOCKER)
    book(point_id, ChoiceType.LOCKER)

    smaller = put(carrier_api, "BOX-1", point_body(type="locker", capacity=1))
    assert smaller.status_code == 409
    assert smaller.json["error"]["code"] == "compartments_booked"
    assert smaller.json["error"]["field"] == "capacity"
    assert "2 compartments are booked" in smaller.json["error"]["message"]

    no_locker = put(carrier_api, "BOX-1", point_body())
    assert no_locker.status_code == 409
    assert no_locker.json["error"]["field"] == "type"
    assert db.session.get(PickupPoint, point_id).locker_capacity == 2

    larger = put(carrier_api, "BOX-1", point_body(type="locker", capacity=30))
    assert (larger.status_code, larger.json["result"]) == (200, "updated")


# --- DELETE /pickup-points/<external_id> -------------------------------------------------------


def test_delete_closes_the_point_and_tells_its_booked_recipient(carrier_api, merchant_api):
    put(carrier_api, "SE-1001", point_body())
    point = db.session.execute(
        select(PickupPoint).where(PickupPoint.external_id == "SE-1001")
    ).scalar_one()
    parcel = book(point.id)

    res = delete(carrier_api, "SE-1001")
    assert res.status_code == 200, res.json
    assert res.json == {
        "external_id": "SE-1001",
        "closed_from": "2026-11-26",
        "already_closed": False,
        "affected_parcels": 1,
    }
    point = db.session.get(PickupPoint, point.id)
    assert point is not None and point.closed_for_good  # closed, never deleted
    messages = withdrawn(parcel)
    assert {(m.channel, m.state) for m in messages} == {("sms", "queued"), ("email", "queued")}
    choice = delivery.current_choice(db.session.get(Parcel, parcel.id))
    assert choice is None or choice.pickup_point_id != point.id

    again = delete(carrier_api, "SE-1001")
    assert again.status_code == 200
    assert (again.json["already_closed"], again.json["affected_parcels"]) == (True, 0)
    assert len(withdrawn(parcel)) == 2


def test_delete_of_an_unknown_or_another_carriers_point_is_404(carrier_api, client):
    other_carrier = factories.make_carrier()
    other = type(carrier_api)(client, factories.make_api_key(carrier=other_carrier))
    assert put(other, "SE-1001", point_body()).status_code == 201

    for external_id in ("SE-1001", "NOPE"):
        res = delete(carrier_api, external_id)
        assert res.status_code == 404
        assert res.json["error"] == {
            "code": "pickup_point_not_found",
            "message": "You have no pickup point with this external id.",
            "field": "external_id",
        }
    (theirs,) = carrier_points(other_carrier)
    assert theirs.closed_from is None


def test_put_reopens_a_point_the_carrier_closed(carrier_api, merchant_api):
    put(carrier_api, "SE-1001", point_body(latitude=NEAR))
    delete(carrier_api, "SE-1001")
    assert "SE-1001" not in [p["external_id"] for p in nearby(merchant_api).json["pickup_points"]]

    res = put(carrier_api, "SE-1001", point_body(latitude=NEAR))
    assert res.status_code == 200, res.json
    assert (res.json["result"], res.json["reopened"]) == ("updated", True)
    assert res.json["closed_from"] is None
    assert nearby(merchant_api).json["pickup_points"][0]["external_id"] == "SE-1001"


def test_put_leaves_an_operators_closure_alone(carrier_api, carrier):
    put(carrier_api, "SE-1001", point_body())
    (point,) = carrier_points(carrier)
    closures.close_point(
        point, closed_from=TODAY, closed_until=date(2026, 12, 31), reason="renovation"
    )
    db.session.commit()

    res = put(carrier_api, "SE-1001", point_body())
    assert res.status_code == 200
    assert (res.json["reopened"], res.json["closed_reason"]) == (False, "renovation")
    assert res.json["closed_until"] == "2026-12-31"


# --- POST /pickup-points/import ----------------------------------------------------------------


def test_import_is_all_or_nothing_and_names_the_bad_feature(carrier_api, carrier):
    res = import_points(
        carrier_api,
        feature("A", NEAR),
        feature("B", MIDDLE, opening_hours="whenever"),
        feature("C", FAR),
    )
    assert res.status_code == 422
    assert res.json["error"]["code"] == "invalid_features"
    assert res.json["error"]["field"] == "opening_hours"
    assert res.json["error"]["message"].startswith("feature 2: opening_hours: 'whenever'")
    (error,) = res.json["errors"]
    assert (error["feature"], error["field"]) == (2, "opening_hours")
    assert "doesn't parse" in error["message"]
    assert carrier_points(carrier) == []


def test_imported_points_are_listed_nearest_first_with_their_distance(
    carrier_api, merchant_api, carrier
):
    res = import_points(
        carrier_api,
        feature("FAR", FAR),
        feature("NEAR", NEAR),
        feature("MIDDLE", MIDDLE, type="locker", capacity=12),
    )
    assert res.status_code == 200, res.json
    assert res.json == {
        "dry_run": False,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "closed": 0,
        "affected_parcels": 0,
    }

    found = nearby(merchant_api, "postcode=113%2048&country=se&limit=50")
    assert found.status_code == 200, found.json
    body = found.json
    assert (body["postcode"], body["country"], body["zone"]) == ("11348", "SE", "Stockholm")
    assert body["centre"] == {"latitude": 59.343, "longitude": 18.053}
    points = body["pickup_points"]
    distances = [p["distance_m"] for p in points]
    assert distances == sorted(distances)
    ours = [p for p in points if p["carrier"] == carrier.name]
    assert [p["external_id"] for p in ours] == ["NEAR", "MIDDLE", "FAR"]
    assert 60 <= ours[0]["distance_m"] <= 80 and 2_900 <= ours[2]["distance_m"] <= 3_100
    near = ours[0]
    assert {k: near[k] for k in ("name", "type", "address_line", "postcode", "city")} == {
        "name": "Pressbyrån Odenplan",
        "type": "pickup_point",
        "address_line": "Odenplan 1",
        "postcode": "113 22",
        "city": "Stockholm",
    }
    assert (near["latitude"], near["longitude"], near["country"]) == (NEAR, 18.053, "SE")
    # Thursday 10:00: open until 20:00 today.
    assert (near["open_now"], near["closes_at"], near["next_opening"]) == (
        True,
        "2026-11-26T20:00:00+01:00",
        None,
    )
    assert (near["capacity"], near["free"]) == (None, None)
    assert (ours[1]["type"], ours[1]["capacity"], ours[1]["free"]) == ("locker", 12, 12)
    # The zone's own points (no carrier) are listed among them.
    assert {p["name"] for p in points if p["carrier"] is None} == {
        "Near Shop",
        "Box Locker",
        "Far Kiosk",
    }


def test_importing_the_same_collection_again_changes_nothing(carrier_api):
    features = [feature("A", NEAR), feature("B", MIDDLE), feature("C", FAR)]
    assert import_points(carrier_api, *features).json["created"] == 3
    again = import_points(carrier_api, *features)
    assert again.status_code == 200
    assert (again.json["created"], again.json["updated"], again.json["unchanged"]) == (0, 0, 3)


def test_close_missing_closes_what_the_collection_leaves_out_dry_run_first(carrier_api, carrier):
    import_points(carrier_api, feature("A", NEAR), feature("B", MIDDLE))
    parcel = book(carrier_points(carrier)[1].id)

    preview = import_points(carrier_api, feature("A", NEAR), query="?close_missing=true&dry_run=1")
    assert preview.status_code == 200, preview.json
    assert preview.json == {
        "dry_run": True,
        "created": 0,
        "updated": 0,
        "unchanged": 1,
        "closed": 1,
        "affected_parcels": 1,
    }
    assert not any(p.closed_from for p in carrier_points(carrier))
    assert withdrawn(parcel) == []

    res = import_points(carrier_api, feature("A", NEAR), query="?close_missing=true")
    assert (res.json["closed"], res.json["affected_parcels"]) == (1, 1)
    assert [p.closed_for_good for p in carrier_points(carrier)] == [False, True]
    assert len(withdrawn(parcel)) == 2  # an SMS and an e-mail

    # Listed again, it is open again.
    back = import_points(carrier_api, feature("A", NEAR), feature("B", MIDDLE))
    assert (back.json["updated"], back.json["unchanged"]) == (1, 1)
    assert not any(p.closed_from for p in carrier_points(carrier))


def test_a_dry_run_writes_nothing(carrier_api, carrier):
    res = import_points(carrier_api, feature("A", NEAR), query="?dry_run=true")
    assert (res.status_code, res.json["created"], res.json["dry_run"]) == (200, 1, True)
    assert carrier_points(carrier) == []


def test_import_takes_only_the_callers_own_points(carrier_api, carrier):
    other = factories.make_carrier()
    res = import_points(carrier_api, feature("A", NEAR), feature("B", FAR, carrier=other.name))
    assert res.status_code == 422
    assert res.json["errors"] == [
        {"feature": 2, "field": "carrier", "message": f"is {carrier.name!r}: your own points"}
    ]
    assert carrier_points(carrier) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "Feature"}, "type"),
        ([1, 2], "type"),
        ({"type": "FeatureCollection"}, "features"),
    ],
)
def test_import_refuses_what_is_no_feature_collection(carrier_api, body, field):
    res = carrier_api.post("/api/v1/pickup-points/import", json=body)
    assert res.status_code == 422
    assert res.json["errors"][0]["feature"] == 0
    assert res.json["errors"][0]["field"] == field


def test_import_refuses_a_bad_flag_and_an_empty_close_missing(carrier_api):
    res = import_points(carrier_api, query="?dry_run=maybe")
    assert (res.status_code, res.json["error"]["field"]) == (422, "dry_run")
    empty = import_points(carrier_api, query="?close_missing=true")
    assert empty.status_code == 422
    assert empty.json["errors"][0]["field"] == "features"
    assert import_points(carrier_api).json["created"] == 0  # empty, nothing to close: fine


def test_import_keeps_booked_compartments(carrier_api, carrier):
    import_points(carrier_api, feature("BOX", NEAR, type="locker", capacity=3))
    (point,) = carrier_points(carrier)
    book(point.id, ChoiceType.LOCKER)
    res = import_points(carrier_api, feature("BOX", NEAR, type="locker", capacity=0))
    assert res.status_code == 422  # a locker has at least one compartment: the file's rule
    res = import_points(
        carrier_api,
        feature("NEW", FAR),
        feature("BOX", NEAR, type="pickup_point"),
    )
    assert res.status_code == 409
    assert res.json["error"]["code"] == "compartments_booked"
    assert res.json["errors"][0]["feature"] == 2
    assert len(carrier_points(carrier)) == 1


# --- GET /pickup-points ------------------------------------------------------------------------


def test_points_closed_today_are_left_out_and_closed_hours_say_when_they_open(
    carrier_api, merchant_api, carrier
):
    import_points(
        carrier_api,
        feature("CLOSED", NEAR),
        feature("SATURDAYS", MIDDLE, opening_hours="Sa 10:00-14:00"),
    )
    closed = carrier_points(carrier)[0]
    closures.close_point(closed, closed_from=TODAY, closed_until=TODAY, reason="inventory")
    db.session.commit()

    points = nearby(merchant_api, "postcode=11348&limit=50").json["pickup_points"]
    names = [p["external_id"] for p in points]
    assert "CLOSED" not in names
    saturdays = next(p for p in points if p["external_id"] == "SATURDAYS")
    assert (saturdays["open_now"], saturdays["closes_at"], saturdays["next_opening"]) == (
        False,
        None,
        "2026-11-28T10:00:00+01:00",
    )


def test_the_search_widens_until_it_has_enough_points_up_to_512_km(carrier_api, merchant_api):
    import_points(
        carrier_api,
        feature("UPPSALA", 59.5230),  # 20 km north
        feature("OSLO", 59.9139, 10.7522),  # 416 km west
        feature("CORNER", 63.3430, 26.0530),  # in the 512 km box's corner, but 620 km away
        feature("KIRUNA", 67.8558, 20.2253),  # 950 km north, outside every box
    )
    few = nearby(merchant_api, "postcode=11348&limit=3").json["pickup_points"]
    assert [p["name"] for p in few] == ["Near Shop", "Box Locker", "Far Kiosk"]
    more = nearby(merchant_api, "postcode=11348&limit=50").json["pickup_points"]
    assert [p["external_id"] for p in more][3:] == ["UPPSALA", "OSLO"]
    assert 19_000 < more[3]["distance_m"] < 21_000
    assert 400_000 < more[4]["distance_m"] < 430_000


def test_the_search_box_uses_the_latitude_longitude_index(app):
    query = nearest.candidates(59.343, 18.053, 2_000, NOW).compile(
        db.engine, compile_kwargs={"literal_binds": True}
    )
    conn = db.session.connection()  # the test's transaction, rolled back at its end
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL enable_seqscan = off"))  # an empty table is scanned
        plan = conn.execute(text(f"EXPLAIN {query}")).scalars().all()
    else:
        plan = [row[-1] for row in conn.execute(text(f"EXPLAIN QUERY PLAN {query}"))]
    assert "ix_pickup_point_lat_lon" in " ".join(plan)


@pytest.mark.parametrize(
    ("query", "status", "field", "code"),
    [
        ("", 422, "postcode", "invalid"),
        ("postcode=1", 422, "postcode", "invalid"),
        ("postcode=11348&country=Sweden", 422, "country", "invalid"),
        ("postcode=11348&limit=0", 422, "limit", "invalid"),
        ("postcode=11348&limit=51", 422, "limit", "invalid"),
        ("postcode=11348&limit=ten", 422, "limit", "invalid"),
        ("postcode=99999", 404, "postcode", "postcode_not_served"),
        ("postcode=11348&country=NO", 404, "postcode", "postcode_not_served"),
    ],
)
def test_a_bad_or_unknown_postcode_says_which_parameter(merchant_api, query, status, field, code):
    res = nearby(merchant_api, query)
    assert res.status_code == status, res.json
    assert (res.json["error"]["field"], res.json["error"]["code"]) == (field, code)


def test_limit_defaults_to_ten(carrier_api):
    import_points(carrier_api, *(feature(f"P{n}", NEAR + n / 10_000) for n in range(12)))
    res = nearby(carrier_api)  # carrier keys may search too
    assert res.status_code == 200
    assert len(res.json["pickup_points"]) == 10


# --- zones on delivery options and parcels ------------------------------------------------------


def test_slots_and_parcels_name_their_zone(merchant_api):
    options = merchant_api.get("/api/v1/delivery-options?postcode=11348").json["options"]
    slots = [o for o in options if o["type"] == "slot"]
    assert slots and {s["zone"] for s in slots} == {"Stockholm"}
    assert all("zone" not in o for o in options if o["type"] != "slot")

    parcel = factories.make_parcel(statuses=[ParcelStatus.IN_TRANSIT])
    slot = slots[0]
    delivery.choose(
        parcel, delivery.ChoiceRequest(ChoiceType.SLOT, slot_id=slot["id"]), confirm=False
    )
    db.session.commit()
    key = factories.make_api_key(merchant=parcel.merchant)
    body = merchant_api.client.get(
        f"/api/v1/parcels/{parcel.tracking_number}", headers={"Authorization": f"Bearer {key}"}
    ).json
    assert body["zone"] == "Stockholm"
    assert body["choice"]["slot"]["zone"] == "Stockholm"

    outside = factories.make_parcel(postcode="901 10", city="Umeå")
    key = factories.make_api_key(merchant=outside.merchant)
    body = merchant_api.client.get(
        f"/api/v1/parcels/{outside.tracking_number}", headers={"Authorization": f"Bearer {key}"}
    ).json
    assert body["zone"] is None


# --- the document ------------------------------------------------------------------------------


def test_the_openapi_document_describes_the_network_calls(client):
    doc = client.get("/api/v1/openapi.json").json
    validate(doc)
    paths = doc["paths"]
    assert set(paths["/pickup-points/{external_id}"]) == {"put", "delete"}
    assert {"/zones", "/pickup-points", "/pickup-points/import"} <= set(paths)
    put_op = paths["/pickup-points/{external_id}"]["put"]
    assert {"200", "201", "400", "401", "403", "409", "422", "429"} <= set(put_op["responses"])
    assert "Idempotency-Key" in [p["name"] for p in put_op["parameters"]]
    schemas = doc["components"]["schemas"]
    assert set(schemas["NearbyPointOut"]["required"]) >= {
        "external_id",
        "distance_m",
        "open_now",
        "next_opening",
        "closes_at",
        "capacity",
        "free",
    }
