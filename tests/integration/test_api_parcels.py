"""Merchants create and read parcels through the JSON API."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate
from sqlalchemy import func, select

from portal import s10
from portal.extensions import db
from portal.models import Parcel
from tests.support import factories
from tests.support.api import baltic_parcel_body


@pytest.fixture(autouse=True)
def baltic(db):
    factories.make_zone("Stockholm", prefixes=("113",))
    return factories.make_carrier("Baltic Express")


def test_create_parcel_generates_s10_number_and_tracking_url(merchant_api):
    res = merchant_api.post("/api/v1/parcels", json=baltic_parcel_body())
    assert res.status_code == 201, res.json
    number = res.json["tracking_number"]
    assert s10.is_valid(number)
    assert res.json["tracking_url"] == f"http://portal.test/t/{number}"
    assert res.json["status"] == "pending"
    assert res.json["recipient"]["phone"] == "+46701234567"
    assert res.json["recipient"]["email"] == "Alva@example.com"
    assert res.json["recipient"]["country"] == "SE"
    assert res.json["zone"] == "Stockholm"
    assert res.headers["Location"] == f"/api/v1/parcels/{number}"

    again = merchant_api.get(f"/api/v1/parcels/{number}")
    assert again.status_code == 200
    assert again.json["order_ref"] == "NO-1001"
    assert again.json["items"][0]["sku"] == "TENT-2P"
    assert again.json["events"] == [] and again.json["returns"] == []


def test_get_answers_the_parcel_as_its_creation_did(merchant_api):
    """The GET reads plain rows (ParcelRecord), the create answers from the model: the same
    parcel must read the same, field for field (items, zone, recipient, times included)."""
    created = merchant_api.post("/api/v1/parcels", json=baltic_parcel_body())
    assert created.status_code == 201, created.json
    fetched = merchant_api.get(f"/api/v1/parcels/{created.json['tracking_number']}")
    assert fetched.status_code == 200
    assert fetched.json == created.json
    assert fetched.json["items"] and fetched.json["recipient"]["address_line"]


def test_given_tracking_number_is_normalised_and_kept(merchant_api):
    res = merchant_api.post(
        "/api/v1/parcels", json=baltic_parcel_body(tracking_number="ra 123-456-785 gb")
    )
    assert res.status_code == 201
    assert res.json["tracking_number"] == "RA123456785GB"
    dup = merchant_api.post(
        "/api/v1/parcels", json=baltic_parcel_body(tracking_number="RA123456785GB")
    )
    assert dup.status_code == 409
    assert dup.json["error"]["code"] == "duplicate_tracking_number"
    assert dup.json["error"]["field"] == "tracking_number"


def test_wrong_check_digit_is_422_on_tracking_number(merchant_api):
    res = merchant_api.post(
        "/api/v1/parcels", json=baltic_parcel_body(tracking_number="RA123456784GB")
    )
    assert res.status_code == 422
    assert res.json["error"] == {
        "code": "bad_check_digit",
        "message": res.json["error"]["message"],
        "field": "tracking_number",
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"recipient": {**baltic_parcel_body()["recipient"], "phone": "12"}}, "recipient.phone"),
        ({"recipient": {**baltic_parcel_body()["recipient"], "email": "alva@"}}, "recipient.email"),
        (
            {"recipient": {**baltic_parcel_body()["recipient"], "country": "Sweden"}},
            "recipient.country",
        ),
        (
            {"items": [{"sku": "X", "name": "Y", "quantity": "many", "unit_price": 1}]},
            "items.0.quantity",
        ),
        (
            {"items": [{"sku": "X", "name": "Y", "quantity": 0, "unit_price": 1}]},
            "items.0.quantity",
        ),
        (
            {"items": [{"sku": "X", "name": "Y", "quantity": 1, "unit_price": "9.999"}]},
            "items.0.unit_price",
        ),
        ({"items": []}, "items"),
        ({"weight_grams": -5}, "weight_grams"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_fields_get_422_naming_the_field(merchant_api, change, field):
    res = merchant_api.post("/api/v1/parcels", json=baltic_parcel_body(**change))
    assert res.status_code == 422, res.json
    assert res.json["error"]["field"] == field
    assert res.json["error"]["code"] == "validation_error"
    assert res.json["error"]["message"]


def test_unknown_carrier_is_422_on_carrier(merchant_api):
    res = merchant_api.post("/api/v1/parcels", json=baltic_parcel_body(carrier="Nobody"))
    assert res.status_code == 422
    assert res.json["error"]["field"] == "carrier"
    assert res.json["error"]["code"] == "unknown_carrier"


@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2"])
def test_malformed_json_is_400(merchant_api, body):
    res = merchant_api.post(
        "/api/v1/parcels", data=body, headers={"Content-Type": "application/json"}
    )
    assert res.status_code == 400
    assert res.json["error"]["code"] == "invalid_json"


def test_json_that_is_not_an_object_is_422(merchant_api):
    res = merchant_api.post("/api/v1/parcels", json=[1, 2])
    assert res.status_code == 422


def test_no_key_or_bad_key_is_401(client):
    assert client.post("/api/v1/parcels", json=baltic_parcel_body()).status_code == 401
    res = client.post(
        "/api/v1/parcels", json=baltic_parcel_body(), headers={"Authorization": "Bearer lm_mk_nope"}
    )
    assert res.status_code == 401
    assert res.json["error"]["code"] == "unauthorized"


def test_carrier_key_cannot_create_parcels(carrier_api):
    res = carrier_api.post("/api/v1/parcels", json=baltic_parcel_body())
    assert res.status_code == 403
    assert res.json["error"]["code"] == "forbidden"


def test_merchants_see_only_their_own_parcels(merchant_api, client, baltic):
    number = merchant_api.post("/api/v1/parcels", json=baltic_parcel_body()).json["tracking_number"]
    other = factories.make_api_key(merchant=factories.make_merchant("Other shop"))
    res = client.get(f"/api/v1/parcels/{number}", headers={"Authorization": f"Bearer {other}"})
    assert res.status_code == 404
    # The parcel's carrier may read it; another carrier may not.
    own = factories.make_api_key(carrier=baltic)
    assert (
        client.get(
            f"/api/v1/parcels/{number}", headers={"Authorization": f"Bearer {own}"}
        ).status_code
        == 200
    )
    stranger = factories.make_api_key(carrier=factories.make_carrier("Stranger Post"))
    assert (
        client.get(
            f"/api/v1/parcels/{number}", headers={"Authorization": f"Bearer {stranger}"}
        ).status_code
        == 404
    )


def test_get_with_wrong_check_digit_is_422(merchant_api):
    res = merchant_api.get("/api/v1/parcels/RA123456784GB")
    assert res.status_code == 422
    assert res.json["error"]["field"] == "tracking_number"


def test_idempotency_key_replays_first_answer(merchant_api):
    headers = {"Idempotency-Key": "order-1001"}
    first = merchant_api.post("/api/v1/parcels", json=baltic_parcel_body(), headers=headers)
    second = merchant_api.post("/api/v1/parcels", json=baltic_parcel_body(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json == second.json
    assert second.headers["Idempotent-Replayed"] == "true"
    assert db.session.execute(select(func.count(Parcel.id))).scalar_one() == 1  # only one made
    other = merchant_api.post(
        "/api/v1/parcels", json=baltic_parcel_body(), headers={"Idempotency-Key": "x"}
    )
    assert other.json["tracking_number"] != first.json["tracking_number"]


def test_idempotency_key_with_another_body_is_409(merchant_api):
    headers = {"Idempotency-Key": "order-1002"}
    assert (
        merchant_api.post("/api/v1/parcels", json=baltic_parcel_body(), headers=headers).status_code
        == 201
    )
    res = merchant_api.post(
        "/api/v1/parcels", json=baltic_parcel_body(order_ref="NO-9999"), headers=headers
    )
    assert res.status_code == 409
    assert res.json["error"]["code"] == "idempotency_key_reused"


def test_unknown_api_path_is_json_404(merchant_api):
    res = merchant_api.get("/api/v1/nothing-here")
    assert res.status_code == 404
    assert res.json["error"]["code"] == "not_found"


def test_openapi_document_is_generated_from_the_models(client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {
        "/parcels",
        "/parcels/{tracking_number}",
        "/events",
        "/webhooks",
        "/webhooks/{id}",
        "/delivery-options",
        "/delivery-estimates",
        "/manifest",
        "/manifest.csv",
        "/returns",
        "/returns/{rma}",
        "/returns/{rma}/received",
        "/returns/{rma}/refunded",
        "/zones",
        "/pickup-points",
        "/pickup-points/import",
        "/pickup-points/{external_id}",
    }
    validate(doc)  # a valid OpenAPI 3.1 document, every $ref resolving
    recipient = doc["components"]["schemas"]["RecipientIn"]
    assert {"name", "postcode", "country"} <= set(recipient["required"])
    codes = doc["components"]["schemas"]["ParcelStatus"]["enum"]
    assert "out_for_delivery" in codes and len(codes) == 11
