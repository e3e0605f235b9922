"""Checkout options, choices on POST /parcels, and the carrier's manifest, through the API."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
import time_machine
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import ChoiceType, Parcel, Slot
from portal.services.delivery import ChoiceRequest, choose
from tests.support import factories
from tests.support.api import baltic_parcel_body

NOW = factories.DELIVERY_NOW


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def zone(db):
    zone = factories.make_delivery_zone()
    factories.make_carrier("Baltic Express")
    return zone


def options(api, query: str = "postcode=113%2048&weight=1200"):
    return api.get(f"/api/v1/delivery-options?{query}")


def test_delivery_options_for_checkout(merchant_api):
    res = options(merchant_api)
    assert res.status_code == 200, res.json
    body = res.json
    assert body["zone"] == "Stockholm" and body["co2e_method"].endswith("/about/co2")
    kinds = {o["type"] for o in body["options"]}
    assert kinds == {"slot", "green_day", "pickup_point", "locker", "neighbour", "hold"}
    slot = next(o for o in body["options"] if o["type"] == "slot")
    assert slot["date"] == "2026-11-27" and slot["start"] == "2026-11-27T08:00:00Z"
    assert (slot["capacity"], slot["remaining"], slot["vehicle"]) == (3, 3, "van")
    assert slot["co2e_grams"] == 203 and isinstance(slot["id"], int)
    assert "distance_m" not in slot and "latest" not in slot  # only a slot's own fields
    near = next(o for o in body["options"] if o["type"] == "pickup_point")
    assert near["name"] == "Near Shop" and 90 <= near["distance_m"] <= 130
    green = next(o for o in body["options"] if o["type"] == "green_day")
    assert green["id"] == "2026-12-01" and green["start"] == "2026-12-01T08:00:00Z"
    assert sum(o["greenest"] for o in body["options"]) == 1


def test_labels_follow_accept_language(merchant_api):
    res = merchant_api.get(
        "/api/v1/delivery-options?postcode=11348", headers={"Accept-Language": "sv"}
    )
    green = next(o for o in res.json["options"] if o["type"] == "green_day")
    assert "tisdag 1 december" in green["label"]


def test_safe_place_and_weight_limits_shape_the_options(client):
    from tests.conftest import ApiClient

    merchant = factories.safe_place_merchant("500")
    api = ApiClient(client, factories.make_api_key(merchant=merchant))
    cheap = {o["type"] for o in options(api, "postcode=11348&value=200").json["options"]}
    dear = {o["type"] for o in options(api, "postcode=11348&value=2000").json["options"]}
    assert "safe_place" in cheap and "safe_place" not in dear
    heavy = options(api, "postcode=11348&weight=30000").json["options"]
    assert {o["vehicle"] for o in heavy if o["type"] == "slot"} == {"van"}
    locker = next(o for o in heavy if o["type"] == "locker")
    assert locker["available"] is False


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "postcode"),
        ("postcode=113%2048&weight=heavy", "weight"),
        ("postcode=113%2048&weight=%C2%B2", "weight"),
        ("postcode=113%2048&value=-1", "value"),
        ("postcode=%21%21%21", "postcode"),
        ("postcode=11348&country=Sweden", "country"),
    ],
)
def test_bad_parameters_name_the_field(merchant_api, query, field):
    res = options(merchant_api, query)
    assert res.status_code == 422 and res.json["error"]["field"] == field


def test_unserved_postcodes_get_no_options_and_carriers_no_access(merchant_api, carrier_api):
    res = options(merchant_api, "postcode=211%2020")
    assert res.status_code == 200 and res.json == {
        "zone": None,
        "options": [],
        "co2e_method": res.json["co2e_method"],
    }
    assert options(carrier_api).status_code == 403


def test_a_checkout_choice_is_booked_with_the_parcel(merchant_api):
    slot_id = next(o for o in options(merchant_api).json["options"] if o["type"] == "slot")["id"]
    res = merchant_api.post(
        "/api/v1/parcels", json=baltic_parcel_body(delivery_choice={"type": "slot", "id": slot_id})
    )
    assert res.status_code == 201, res.json
    choice = res.json["choice"]
    assert choice["type"] == "slot" and choice["slot"]["id"] == slot_id
    assert choice["made_by"] == "merchant" and choice["co2e_grams"] == 203
    assert res.json["eta"]["from"] == "2026-11-27T08:00:00Z"
    assert db.session.get(Slot, slot_id).booked == 1
    got = merchant_api.get(f"/api/v1/parcels/{res.json['tracking_number']}").json
    assert [c["type"] for c in got["choices"]] == ["slot"]


def test_a_full_slot_at_checkout_is_409_and_leaves_no_parcel(merchant_api):
    slot = db.session.execute(select(Slot).where(Slot.day == date(2026, 11, 27))).scalars().first()
    for _ in range(slot.capacity):
        choose(factories.make_parcel(), ChoiceRequest(ChoiceType.SLOT, slot_id=slot.id))
    db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(Parcel))
    res = merchant_api.post(
        "/api/v1/parcels", json=baltic_parcel_body(delivery_choice={"type": "slot", "id": slot.id})
    )
    assert res.status_code == 409
    assert res.json["error"]["code"] == "slot_full"
    assert res.json["error"]["field"] == "delivery_choice.slot"
    assert db.session.scalar(select(func.count()).select_from(Parcel)) == before


@pytest.mark.parametrize(
    ("choice", "status", "field"),
    [
        ({"type": "slot"}, 422, "delivery_choice.id"),
        ({"type": "slot", "id": 999999}, 404, "delivery_choice.slot"),
        ({"type": "slot", "id": 2**63}, 404, "delivery_choice.slot"),
        ({"type": "pickup_point", "id": -1}, 404, "delivery_choice.pickup_point"),
        ({"type": "green_day", "id": "someday"}, 422, "delivery_choice.id"),
        ({"type": "hold", "until": "2027-03-01"}, 422, "delivery_choice.day"),
        ({"type": "teleport"}, 422, "delivery_choice.type"),
        ({"type": "neighbour", "neighbour_name": "Erik"}, 422, "delivery_choice.neighbour_house"),
    ],
)
def test_invalid_checkout_choices_are_refused_with_the_field(merchant_api, choice, status, field):
    res = merchant_api.post("/api/v1/parcels", json=baltic_parcel_body(delivery_choice=choice))
    assert res.status_code == status, res.json
    assert res.json["error"]["field"] == field
    assert db.session.scalar(select(func.count()).select_from(Parcel)) == 0


def test_manifest_lists_the_days_parcels_with_choices(carrier_api, carrier, merchant_api):
    by_slot = factories.make_parcel(carrier=carrier, name="Slot Person")
    slot = db.session.execute(select(Slot).where(Slot.day == date(2026, 11, 27))).scalars().first()
    choose(by_slot, ChoiceRequest(ChoiceType.SLOT, slot_id=slot.id))
    held = factories.make_parcel(carrier=carrier, name="Hold Person")
    choose(held, ChoiceRequest(ChoiceType.HOLD, day=date(2026, 11, 27)))
    db.session.commit()
    safe = factories.make_parcel(carrier=carrier, merchant=factories.safe_place_merchant())
    choose(safe, ChoiceRequest(ChoiceType.SAFE_PLACE, place="other", note="=HYPERLINK(evil)"))
    safe.eta_from, safe.eta_to = slot.starts_at, slot.ends_at
    factories.make_parcel(name="Other Carrier", carrier=factories.make_carrier())
    db.session.commit()

    res = carrier_api.get("/api/v1/manifest?date=2026-11-27&zone=Stockholm")
    assert res.status_code == 200, res.json
    stops = {s["recipient_name"]: s for s in res.json["stops"]}
    assert set(stops) == {"Slot Person", "Hold Person", "Alva Lindqvist"}
    assert stops["Slot Person"]["choice"] == "slot" and stops["Slot Person"]["vehicle"] == "van"
    assert stops["Hold Person"]["instructions"] == "Hold until Friday 27 November"
    assert stops["Alva Lindqvist"]["instructions"].startswith("Leave it in a safe place")

    res = carrier_api.get(f"/api/v1/manifest?date=2026-11-27&zone={slot.zone_id}&format=csv")
    assert res.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(res.get_data(as_text=True))))
    assert len(rows) == 3
    safe_row = next(r for r in rows if r["choice"] == "safe_place")
    assert safe_row["instructions"].endswith("(=HYPERLINK(evil))")  # not at the cell's start
    assert safe_row["phone"] == "+46701234567"  # a phone number is no formula
    assert carrier_api.get("/api/v1/manifest?date=2026-11-28&zone=Stockholm").json["stops"] == []
    assert merchant_api.get("/api/v1/manifest?date=2026-11-27&zone=Stockholm").status_code == 403


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("zone=Stockholm", 422, "date"),
        ("date=27-11-2026&zone=Stockholm", 422, "date"),
        ("date=2026-11-27", 422, "zone"),
        ("date=2026-11-27&zone=Atlantis", 404, "zone"),
        ("date=2026-11-27&zone=99999999999", 404, "zone"),
        ("date=2026-11-27&zone=%C2%B2", 404, "zone"),
        ("date=2026-11-27&zone=%00", 422, "zone"),  # a control character: malformed
        ("date=9999-12-31&zone=Stockholm", 422, "date"),
        ("date=0001-01-01&zone=Stockholm", 422, "date"),
        ("date=2026-11-27&zone=Stockholm&format=xml", 422, "format"),
    ],
)
def test_manifest_parameters_are_checked(carrier_api, query, status, field):
    res = carrier_api.get(f"/api/v1/manifest?{query}")
    assert res.status_code == status and res.json["error"]["field"] == field


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=HYPERLINK(x)", "'=HYPERLINK(x)"),
        ("@SUM(1)", "'@SUM(1)"),
        ("-2+3", "'-2+3"),
        ("+46701234567", "+46701234567"),
        ("Alva", "Alva"),
        (None, ""),
    ],
)
def test_csv_cells_never_start_a_formula(value, cell):
    from portal.api.delivery import _cell

    assert _cell(value) == cell
