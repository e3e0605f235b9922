"""HTTP by its RFCs (issue 22, point 4): Allow on every 405, WWW-Authenticate on every 401, a
429 with the headers of the limit that was hit, a valid key never held up by wrong ones from
its address, query parameters checked as bodies are, and write answers showing what was stored.
Rate limits are on here, as in production."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portal.api.schemas import RefundIn
from portal.extensions import db
from portal.models import ApiKey
from portal.models.types import utcnow
from portal.services.api_keys import hash_key
from tests.conftest import ApiClient
from tests.support import factories
from tests.support.api import parcel_body

REALM = 'Bearer realm="lastmile-api"'


def allowed(res) -> set[str]:
    return {m.strip() for m in res.headers["Allow"].split(",")}


# --- 405 carries Allow ---------------------------------------------------------------------


def test_a_page_answers_405_with_the_methods_it_allows(client):
    res = client.delete("/track")
    assert res.status_code == 405
    assert allowed(res) == {"GET", "HEAD", "OPTIONS"}
    assert res.mimetype == "text/html"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("delete", "/api/v1/parcels", {"POST", "OPTIONS"}),
        ("put", "/api/v1/returns", {"GET", "HEAD", "OPTIONS", "POST"}),
        ("post", "/api/v1/zones", {"GET", "HEAD", "OPTIONS"}),
        # `import` is also an external id: PUT and DELETE /pickup-points/<external_id> match.
        ("get", "/api/v1/pickup-points/import", {"DELETE", "OPTIONS", "POST", "PUT"}),
    ],
)
def test_the_api_answers_405_with_allow_in_the_error_shape(client, method, path, allow):
    res = getattr(client, method)(path)
    assert res.status_code == 405
    assert allowed(res) == allow
    assert res.json["error"]["code"] == "method_not_allowed"


def test_options_lists_the_same_methods_as_a_405(client):
    res = client.options("/api/v1/returns")
    assert res.status_code == 200 and allowed(res) == {"GET", "HEAD", "OPTIONS", "POST"}


# --- 401 carries WWW-Authenticate ----------------------------------------------------------


def test_no_key_gets_a_bearer_challenge_without_an_error_code(client):
    res = client.get("/api/v1/zones")
    assert res.status_code == 401
    assert res.headers["WWW-Authenticate"] == REALM
    assert res.json["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("scheme", ["Bearer lm_mk_wrong", "Basic dXNlcjpwdw=="])
def test_a_wrong_key_gets_invalid_token_or_the_plain_challenge(client, scheme):
    res = client.get("/api/v1/zones", headers={"Authorization": scheme})
    assert res.status_code == 401
    expected = f'{REALM}, error="invalid_token"' if scheme.startswith("Bearer") else REALM
    assert res.headers["WWW-Authenticate"] == expected


def test_a_revoked_key_is_an_invalid_token(client):
    key = factories.make_api_key(merchant=factories.make_merchant())
    row = db.session.query(ApiKey).filter_by(key_hash=hash_key(key)).one()
    row.revoked_at = utcnow()
    db.session.commit()
    res = client.get("/api/v1/zones", headers={"Authorization": f"Bearer {key}"})
    assert res.status_code == 401
    assert res.headers["WWW-Authenticate"] == f'{REALM}, error="invalid_token"'


def test_metrics_answers_401_with_its_own_challenge(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-token-0123456789")
    res = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert res.status_code == 401
    assert res.headers["WWW-Authenticate"].startswith("Bearer realm=")


# --- the two rate limits ------------------------------------------------------------------


def wrong(client, n: int = 0, **kw):
    return client.get("/api/v1/webhooks", headers={"Authorization": f"Bearer lm_mk_old{n}"}, **kw)


def test_wrong_keys_never_block_a_valid_key_from_the_same_address(app, client, merchant_api):
    """The issue's case: a stale worker sends 30 old keys in a minute from the merchant's
    address (RATELIMIT_API_WRONG_KEYS as configured, 30 per minute)."""
    assert app.config["RATELIMIT_API_WRONG_KEYS"] == "30 per minute"
    answers = [wrong(client, n) for n in range(30)]
    assert {r.status_code for r in answers} == {401}
    # Each 401 shows the address's wrong-key limit counting down.
    assert answers[0].headers["X-RateLimit-Limit"] == "30"
    assert answers[0].headers["X-RateLimit-Remaining"] == "29"
    assert answers[-1].headers["X-RateLimit-Remaining"] == "0"

    refused = wrong(client, 30)
    assert refused.status_code == 429 and refused.json["error"]["code"] == "rate_limited"
    assert refused.headers["X-RateLimit-Limit"] == "30"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert "X-RateLimit-Reset" in refused.headers

    # The valid key is judged by its own limit only: 200, under its own headers.
    ok = merchant_api.get("/api/v1/webhooks")
    assert ok.status_code == 200
    assert ok.headers["X-RateLimit-Limit"] == "1200"
    assert ok.headers["X-RateLimit-Remaining"] == "1199"
    # … and the wrong key still waits.
    assert wrong(client, 31).status_code == 429


def test_a_key_over_its_own_limit_gets_its_own_headers(app, client, merchant_api, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_API", "3 per minute")
    answers = [merchant_api.get("/api/v1/webhooks") for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["2", "1", "0", "0"]
    refused = answers[-1]
    assert refused.headers["X-RateLimit-Limit"] == "3"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.json["error"]["code"] == "rate_limited"
    # A wrong key from the same address is counted apart: a 401 under the wrong-key limit.
    res = wrong(client)
    assert res.status_code == 401 and res.headers["X-RateLimit-Limit"] == "30"


def test_a_valid_key_of_the_wrong_kind_counts_against_its_key(carrier_api):
    res = carrier_api.get("/api/v1/webhooks")
    assert res.status_code == 403 and res.headers["X-RateLimit-Limit"] == "1200"


def test_the_wrong_key_limit_counts_per_address(client):
    for n in range(30):
        wrong(client, n)
    assert wrong(client, 30).status_code == 429
    elsewhere = wrong(client, 31, environ_base={"REMOTE_ADDR": "192.0.2.44"})
    assert elsewhere.status_code == 401 and elsewhere.headers["X-RateLimit-Remaining"] == "29"


# --- query parameters are checked as bodies are -------------------------------------------

MERCHANT_QUERIES = [
    ("/api/v1/returns?since=", "since"),
    ("/api/v1/returns?since=%20", "since"),
    ("/api/v1/returns?since=yesterday", "since"),
    ("/api/v1/returns?since=2026-11-25T10:00:00", "since"),  # no time zone
    ("/api/v1/returns?since=%00", "since"),
    ("/api/v1/parcels/LM000000000SE?merchant=", "merchant"),
    ("/api/v1/parcels/LM000000000SE?merchant=%01shop", "merchant"),
    ("/api/v1/delivery-options", "postcode"),
    ("/api/v1/delivery-options?postcode=", "postcode"),
    ("/api/v1/delivery-options?postcode=%21%21", "postcode"),
    ("/api/v1/delivery-options?postcode=11348&country=", "country"),
    ("/api/v1/delivery-options?postcode=11348&country=SWE", "country"),
    ("/api/v1/delivery-options?postcode=11348&country=S1", "country"),
    ("/api/v1/delivery-options?postcode=11348&weight=", "weight"),
    ("/api/v1/delivery-options?postcode=11348&weight=heavy", "weight"),
    ("/api/v1/delivery-options?postcode=11348&weight=-1", "weight"),
    ("/api/v1/delivery-options?postcode=11348&value=", "value"),
    ("/api/v1/delivery-options?postcode=11348&value=NaN", "value"),
    ("/api/v1/delivery-options?postcode=11348&value=-5", "value"),
    ("/api/v1/delivery-options?postcode=11348&carrier=", "carrier"),
    ("/api/v1/pickup-points?postcode=", "postcode"),
    ("/api/v1/pickup-points?postcode=113%2048&country=", "country"),
    ("/api/v1/pickup-points?postcode=113%2048&country=1E", "country"),
    ("/api/v1/pickup-points?postcode=113%2048&limit=", "limit"),
    ("/api/v1/pickup-points?postcode=113%2048&limit=0", "limit"),
    ("/api/v1/pickup-points?postcode=113%2048&limit=ten", "limit"),
]

CARRIER_QUERIES = [
    ("/api/v1/manifest?date=&zone=Stockholm", "date"),
    ("/api/v1/manifest?date=tomorrow&zone=Stockholm", "date"),
    ("/api/v1/manifest?date=2026-11-27&zone=", "zone"),
    ("/api/v1/manifest?date=2026-11-27&zone=Stockholm&format=", "format"),
    ("/api/v1/manifest?date=2026-11-27&zone=Stockholm&format=xml", "format"),
]


@pytest.mark.parametrize(("url", "field"), MERCHANT_QUERIES)
def test_a_merchants_empty_or_malformed_query_parameter_is_a_422(merchant_api, url, field):
    factories.make_delivery_zone()
    res = merchant_api.get(url)
    assert res.status_code == 422, res.json
    assert res.json["error"]["field"] == field
    assert res.json["error"]["code"] and res.json["error"]["message"]


@pytest.mark.parametrize(("url", "field"), CARRIER_QUERIES)
def test_a_carriers_empty_or_malformed_query_parameter_is_a_422(carrier_api, url, field):
    factories.make_delivery_zone()
    res = carrier_api.get(url)
    assert res.status_code == 422, res.json
    assert res.json["error"]["field"] == field


@pytest.mark.parametrize(
    ("query", "field"),
    [("?dry_run=", "dry_run"), ("?dry_run=maybe", "dry_run"), ("?close_missing=", "close_missing")],
)
def test_an_import_flag_left_empty_is_a_422(carrier_api, query, field):
    res = carrier_api.post(
        f"/api/v1/pickup-points/import{query}", json={"type": "FeatureCollection", "features": []}
    )
    assert res.status_code == 422 and res.json["error"]["field"] == field


def test_since_left_out_is_no_filter_but_since_empty_is_an_error(merchant_api):
    assert merchant_api.get("/api/v1/returns").status_code == 200
    assert merchant_api.get("/api/v1/returns?since=2026-11-25T10:00:00Z").status_code == 200
    assert merchant_api.get("/api/v1/returns?since=").status_code == 422


# --- write answers show what was stored ---------------------------------------------------


def test_a_created_parcel_answers_with_its_stored_normalised_values(merchant_api, carrier):
    body = parcel_body(
        carrier.name,
        tracking_number="rr123456785se",
        phone="070-123 45 67",
        email="Alva@Example.COM",
        postcode="11348",
        country="se",
        language="SV",
    )
    body["items"][0]["unit_price"] = "10.5"
    created = merchant_api.post("/api/v1/parcels", json=body)
    assert created.status_code == 201, created.json
    out = created.json
    assert out["tracking_number"] == "RR123456785SE"
    assert out["recipient"] | {"name": None} == {
        "name": None,
        "phone": "+46701234567",
        "email": "Alva@example.com",
        "address_line": "Surbrunnsgatan 14",
        "postcode": "113 48",
        "city": "Stockholm",
        "country": "SE",
        "language": "sv",
    }
    assert out["items"][0]["unit_price"] == "10.50"
    # Exactly what a read of it answers afterwards.
    read = merchant_api.get(f"/api/v1/parcels/{out['tracking_number']}").json
    for field in ("tracking_number", "recipient", "items", "weight_grams", "currency"):
        assert out[field] == read[field], field


def test_a_refund_answers_its_amount_as_stored():
    assert RefundIn.model_validate({"amount": "5"}).amount == Decimal("5.00")
    assert str(RefundIn.model_validate({"amount": "12.5"}).amount) == "12.50"


def test_a_refunded_return_shows_the_stored_amount(client):
    first, _ = factories.make_order()
    shop = ApiClient(client, factories.make_api_key(merchant=first.merchant))
    opened = shop.post(
        "/api/v1/returns",
        json={
            "tracking_number": first.tracking_number.lower(),
            "items": [{"sku": "SHIRT-M", "quantity": 1, "reason": "too_small"}],
            "method": "dropoff",
        },
    )
    assert opened.status_code == 201, opened.json
    assert opened.json["tracking_number"] == first.tracking_number
    rma = opened.json["rma"]
    assert shop.post(f"/api/v1/returns/{rma}/received").status_code == 200
    refunded = shop.post(f"/api/v1/returns/{rma}/refunded", json={"amount": "5"})
    assert refunded.status_code == 200, refunded.json
    assert refunded.json["refund_amount"] == "5.00"
    assert shop.get(f"/api/v1/returns/{rma}").json["refund_amount"] == "5.00"
