"""What API tests send: the key header and a parcel body a merchant would post."""

from __future__ import annotations

import re


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def parcel_body(carrier: str, tracking_number: str | None = None, **recipient) -> dict:
    """A `POST /api/v1/parcels` body for a recipient in Stockholm (113 48); `recipient`
    overrides or adds recipient fields (phone, email, postcode …)."""
    body = {
        "carrier": carrier,
        "weight_grams": 900,
        "recipient": {
            "name": "Alva Lindqvist",
            "address_line": "Surbrunnsgatan 14",
            "postcode": "113 48",
            "city": "Stockholm",
            "country": "SE",
            **recipient,
        },
        "items": [{"sku": "TENT-2P", "name": "Trail tent", "quantity": 1, "unit_price": "10.00"}],
    }
    if tracking_number:
        body["tracking_number"] = tracking_number
    return body


def baltic_parcel_body(**overrides) -> dict:
    """A Baltic Express parcel with every recipient field as a Swedish shop types them (phone,
    e-mail, lower-case country); `overrides` replace top-level keys."""
    body = {
        "carrier": "Baltic Express",
        "order_ref": "NO-1001",
        "weight_grams": 1200,
        "recipient": {
            "name": "Alva Lindqvist",
            "phone": "070-123 45 67",
            "email": "Alva@Example.com",
            "address_line": "Surbrunnsgatan 14",
            "postcode": "113 48",
            "city": "Stockholm",
            "country": "se",
            "language": "sv",
        },
        "items": [{"sku": "TENT-2P", "name": "Trail tent", "quantity": 1, "unit_price": "2499.00"}],
    }
    body.update(overrides)
    return body
