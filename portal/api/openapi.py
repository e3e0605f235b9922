"""The OpenAPI 3.1 document, generated from the pydantic models the handlers use.

Written for code generators as much as for people: every operation has a tag, a summary and a
description; the vocabularies several schemas share (a parcel's status, a choice's type, a
return's method…) and the objects a choice names (its slot, its pickup point) are components
of their own, so a generated client has one class for each; the manifest's CSV has an operation
whose only answer is text/csv. `redocly lint --extends recommended` finds nothing to report
(tests/integration/test_openapi_client.py, which also drives a generated client through it)."""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib.metadata import PackageNotFoundError, metadata
from typing import Any

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from portal.api.complaints import ComplaintOut
from portal.api.schemas import (
    DeliveryEstimateIn,
    DeliveryEstimateOut,
    DeliveryOptionsOut,
    ErrorOut,
    EventBatchIn,
    EventBatchOut,
    ImportErrorOut,
    ImportIn,
    ImportOut,
    ManifestOut,
    NearbyOut,
    ParcelIn,
    ParcelOut,
    PickupPointClosedOut,
    PickupPointIn,
    PickupPointOut,
    RefundIn,
    ReturnIn,
    ReturnListOut,
    ReturnOut,
    WebhookCreatedOut,
    WebhookIn,
    WebhookListOut,
    ZonesOut,
)
from portal.models import (
    ChoiceType,
    NotificationState,
    ReturnMethod,
    ReturnReason,
    ReturnStatus,
    Vehicle,
)

REF = "#/components/schemas/{model}"
RMA = {
    "name": "rma",
    "in": "path",
    "required": True,
    "description": "The return's RMA, as in the answer of POST /returns",
    "schema": {"type": "string", "example": "YC9W-KCR6"},
}
EXTERNAL_ID = {
    "name": "external_id",
    "in": "path",
    "required": True,
    "description": (
        "Your id for the point, as in your pickup_points.csv: 1 to 64 characters, no control "
        "characters, no spaces at either end"
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 64, "example": "SE-1001"},
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorOut")}}},
    }


def _body(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}},
    }


def _json_body(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}},
    }


def _query(
    name: str, schema: dict[str, Any], description: str = "", *, required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }


def _header(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "schema": schema}


# The limit a request was counted under: its key's (LASTMILE_RATELIMIT_API) when the key is
# valid, else its address's wrong-key limit (LASTMILE_RATELIMIT_API_WRONG_KEYS), never both.
RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": _header("Calls allowed in the window", {"type": "integer"}),
    "X-RateLimit-Remaining": _header("Calls left in the window", {"type": "integer"}),
    "X-RateLimit-Reset": _header("When the window ends (Unix time)", {"type": "integer"}),
    "Retry-After": _header("Seconds to wait before calling again", {"type": "integer"}),
}

AUTH_ERRORS = {
    "401": _error("No or unknown API key")
    | {
        "headers": {
            "WWW-Authenticate": _header(
                'The scheme to use: `Bearer realm="lastmile-api"`, with '
                '`error="invalid_token"` when the key sent is wrong or revoked',
                {"type": "string"},
            )
        }
    },
    "403": _error("The key is of the wrong kind for this call"),
    "429": _error(
        "Too many calls with this key, or (without a valid key) too many wrong keys from this "
        "address: a valid key is only ever judged by its own limit"
    )
    | {"headers": RATE_LIMIT_HEADERS},
}

# A postcode's country, where a postcode is asked for (options, nearest points).
COUNTRY_QUERY = _query(
    "country",
    {"type": "string", "pattern": "^[A-Za-z]{2}$"},
    "ISO 3166-1 alpha-2; may be left out when only one country we serve knows the postcode",
)

# Calls any key may make (a merchant's or a carrier's): no 403 to document.
ANY_KEY_ERRORS = {code: answer for code, answer in AUTH_ERRORS.items() if code != "403"}

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Retry safely: a repeat with the same key and request gets the first answer again "
        "(header `Idempotent-Replayed: true`); the same key with another request is a 409"
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def _write(operation: dict[str, Any]) -> dict[str, Any]:
    """A write: takes an Idempotency-Key, and says what a bad body or a reused key gets (every
    write answers 400 to a body that is not JSON or a malformed key, and 409 to a reused key)."""
    responses = operation["responses"]
    responses.setdefault("400", _error("The body is not JSON, or the Idempotency-Key is empty"))
    reused = "Idempotency-Key reused with another request (`idempotency_key_reused`)"
    if "409" in responses:
        if "Idempotency-Key" not in responses["409"]["description"]:
            responses["409"]["description"] += f"; or {reused}"
    else:
        responses["409"] = _error(reused)
    parameters = [p for p in operation.get("parameters", []) if p["name"] != "Idempotency-Key"]
    return {**operation, "parameters": [*parameters, IDEMPOTENCY_KEY]}


# The vocabularies more than one schema uses, each a component of its own (a generated client
# gets one enum class for it, not one per field). A schema's inline enum with exactly these
# values becomes a reference to it; one with other values stays as it is, so the document never
# claims more than the models say.
ENUMS: dict[str, tuple[tuple[str, ...], str]] = {
    "ChoiceType": (
        tuple(ChoiceType),
        "A delivery choice's kind: a slot (by van or cargo bike), the zone's green day, a pickup "
        "point or locker, a safe place, a neighbour, or a hold until a day",
    ),
    "Vehicle": (tuple(Vehicle), "What delivers a slot: a van or an electric cargo bike"),
    "SafePlace": (
        ("porch", "garage", "back_door", "shed", "other"),
        "safe_place: where the driver leaves the parcel",
    ),
    "Language": (
        ("en", "sv", "nb", "da", "fi"),
        "The recipient's language for messages and pages (Norwegian is Bokmål, `nb`)",
    ),
    "ReturnStatus": (tuple(ReturnStatus), "Where a return stands"),
    "ReturnMethod": (
        tuple(ReturnMethod),
        "How the items go back: dropped off at a service point, in a locker, or collected at "
        "home in a slot",
    ),
    "ReturnReason": (tuple(ReturnReason), "Why an item goes back (`other` needs a text)"),
    "ReturnCreator": (
        ("recipient", "merchant", "agent"),
        "Who opened the return: the customer, the shop (API) or Lastmile's support",
    ),
    "PointType": (("pickup_point", "locker"), "A staffed pickup point or a parcel locker"),
    "Weekday": (("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"), "A weekday, as in opening_hours"),
    "MessageChannel": (("sms", "email"), "How the recipient was told"),
    "MessageState": (tuple(NotificationState), "Where a message to the recipient stands"),
    "EventResult": (
        ("accepted", "duplicate", "rejected"),
        "What became of one pushed event: stored, already stored (nothing changed), or refused",
    ),
    "PointWriteResult": (
        ("created", "updated", "unchanged"),
        "What a PUT did to the pickup point",
    ),
    "PredictionBasis": (
        ("carrier", "route", "zone_pair", "carrier_default", "default"),
        "Which parcels a predicted delivery was learned from",
    ),
}
_ENUM_BY_VALUES = {frozenset(values): name for name, (values, _) in ENUMS.items()}
# Descriptions for the enums pydantic names itself (the models' enum classes).
_ENUM_DESCRIPTIONS = {
    "ParcelStatus": "Where a parcel stands; also the `code` of a tracking event",
    "ComplaintType": "What a complaint is about",
    "ComplaintStatus": "Where a complaint case stands",
    "Resolution": "How a complaint was settled",
}


class Slot(BaseModel):
    """The slot a delivery choice books (a choice's `slot`)."""

    id: int = Field(description="The slot's id, as in GET /delivery-options")
    date: dt.date = Field(description="The delivery day, local to the zone")
    start: dt.datetime
    end: dt.datetime
    zone: str = Field(description="Its zone's name: the `zone` of GET /manifest")


class PickupPointSummary(BaseModel):
    """The pickup point or locker a delivery choice names (a choice's `pickup_point`)."""

    id: int = Field(description="The point's id, as in GET /pickup-points")
    name: str
    address: str = Field(description="Street, postcode and city on one line")


def _named_enums(node: Any) -> Any:
    """`node` with every inline enum of a shared vocabulary turned into a reference to it."""
    if isinstance(node, list):
        return [_named_enums(n) for n in node]
    if not isinstance(node, dict):
        return node
    name = _ENUM_BY_VALUES.get(frozenset(node.get("enum", ())))
    if name is not None:
        kept = {k: node[k] for k in ("description", "default") if k in node}
        return {"$ref": REF.format(model=name), **kept}
    return {k: _named_enums(v) for k, v in node.items()}


def _nullable(name: str, description: str) -> dict[str, Any]:
    return {
        "anyOf": [{"$ref": REF.format(model=name)}, {"type": "null"}],
        "description": description,
    }


@cache
def _schemas() -> dict[str, Any]:
    models = [
        ParcelIn,
        ParcelOut,
        EventBatchIn,
        EventBatchOut,
        ErrorOut,
        WebhookIn,
        WebhookCreatedOut,
        WebhookListOut,
        DeliveryOptionsOut,
        DeliveryEstimateIn,
        DeliveryEstimateOut,
        ManifestOut,
        ComplaintOut,
        ReturnIn,
        ReturnOut,
        RefundIn,
        ReturnListOut,
        ZonesOut,
        NearbyOut,
        PickupPointIn,
        PickupPointOut,
        PickupPointClosedOut,
        ImportIn,
        ImportOut,
        ImportErrorOut,
        Slot,
        PickupPointSummary,
    ]
    _, top = models_json_schema(
        [(m, "validation" if m.__name__.endswith("In") else "serialization") for m in models],
        ref_template=REF,
    )
    schemas = _named_enums(top["$defs"])
    for name, (values, description) in ENUMS.items():
        schemas[name] = {"type": "string", "enum": list(values), "description": description}
    for name, description in _ENUM_DESCRIPTIONS.items():
        schemas[name]["description"] = description
    # The schemas of the models say `dict` or `str` where the answer holds one of the named
    # objects or vocabularies above; say which.
    parcel, choice = schemas["ParcelOut"]["properties"], schemas["ChoiceOut"]["properties"]
    parcel["complaints"]["items"] = {"$ref": REF.format(model="ComplaintOut")}
    parcel["complaints"]["description"] = (
        "The parcel's complaint cases, oldest first (merchant keys only)"
    )
    choice["slot"] |= _nullable("Slot", "slot: the slot booked")
    choice["pickup_point"] |= _nullable(
        "PickupPointSummary", "pickup_point and locker: the point chosen"
    )
    stop = schemas["ManifestStopOut"]["properties"]
    stop["choice"] |= _nullable("ChoiceType", "The choice's kind; null for a plain home delivery")
    stop["vehicle"] |= _nullable("Vehicle", "slot: what delivers it")
    schemas["OptionOut"]["properties"]["vehicle"] |= _nullable("Vehicle", "slot: what delivers it")
    return schemas


def _licence() -> dict[str, str] | None:
    """The licence the package declares (pyproject's `license`), or None while it declares
    none: the document never names one the project has not chosen."""
    try:
        meta = metadata("lastmile-portal")
    except PackageNotFoundError:
        return None
    if spdx := meta.get("License-Expression"):
        return {"name": spdx, "identifier": spdx}
    if name := meta.get("License"):
        return {"name": name}
    return None


TAGS = [
    {"name": "Parcels", "description": "Merchants create parcels and read them back"},
    {
        "name": "Tracking events",
        "description": "Carriers push scans; each moves the parcel's status and ETA",
    },
    {
        "name": "Delivery",
        "description": "Checkout: the delivery options for an address and when a parcel would "
        "arrive",
    },
    {"name": "Manifest", "description": "Carriers: the parcels due in a zone on a day"},
    {
        "name": "Returns",
        "description": "Merchants open returns for their customers and close them: received, "
        "refunded",
    },
    {
        "name": "Webhooks",
        "description": "Merchants' HTTPS endpoints, told of every status change (signed)",
    },
    {
        "name": "Network",
        "description": "Zones, and carriers' pickup points and lockers: the nearest to a "
        "postcode, and each carrier's own kept up to date",
    },
]

DESCRIPTION = """Merchants create parcels, offer delivery options at checkout and handle returns;
carriers push tracking events, keep their pickup points up to date and read the day's manifest.

**Keys.** Every call sends `Authorization: Bearer <key>`. A key belongs to a merchant or to a
carrier (`flask --app wsgi api-key create --merchant NAME` or `--carrier NAME`, printed once);
each operation's summary says which it needs. A missing or unknown key answers 401, a key of the
other kind 403.

**Errors** always have one shape, `{"error": {"code", "message", "field"}}`
(`ErrorOut`): `code` is stable and meant for programs, `message` for people, `field`
names the offending field or parameter (`items.0.quantity`), and `details` lists every problem
when there were several.

**Writes** accept `Idempotency-Key`: send the same request again with the same key and it
answers as the first time (header `Idempotent-Replayed: true`), without doing it twice.

**Limits.** Each key may make a number of calls a minute (429 with `Retry-After` beyond it);
while the database is unreachable every call answers 503 `unavailable` with `Retry-After: 5`."""


def build_openapi(base_url: str) -> dict[str, Any]:
    tracking_number = {
        "name": "tracking_number",
        "in": "path",
        "required": True,
        "description": "The parcel's tracking number (S10, as in RR123456785SE)",
        "schema": {"type": "string", "example": "RR123456785SE"},
    }
    manifest_day = [
        _query(
            "date",
            {"type": "string", "format": "date", "example": "2026-11-27"},
            "The delivery day, local to the zone (2000-01-01 to 2999-12-31)",
            required=True,
        ),
        _query(
            "zone",
            {"type": "string", "example": "Stockholm inner city"},
            "The zone's id or name (GET /zones)",
            required=True,
        ),
    ]
    manifest_errors = {
        "404": _error("No such zone (`zone_not_found`)"),
        "422": _error("`date`, `zone` or `format` is missing, empty or invalid; `field` names it"),
        **AUTH_ERRORS,
    }
    info: dict[str, Any] = {
        "title": "Lastmile portal API",
        "version": "1",
        "description": DESCRIPTION,
        "contact": {"name": "Lastmile", "url": base_url.rstrip("/") + "/"},
    }
    if licence := _licence():
        info["license"] = licence
    return {
        "openapi": "3.1.0",
        "info": info,
        "servers": [
            {"url": base_url.rstrip("/") + "/api/v1", "description": "This Lastmile portal"}
        ],
        "tags": TAGS,
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A merchant's or a carrier's API key",
                }
            },
        },
        "security": [{"bearer": []}],
        "paths": {
            "/parcels": {
                "post": _write(
                    {
                        "operationId": "createParcel",
                        "tags": ["Parcels"],
                        "summary": "Create a parcel (merchant key)",
                        "description": (
                            "The recipient, the items and the weight; the tracking number is "
                            "yours or, left out, one Lastmile issues. With `delivery_choice` "
                            "(an option from GET /delivery-options) the choice is booked in the "
                            "same step: when it can't be, nothing is created. The answer's "
                            "`tracking_url` is the recipient's page; `Location` is the parcel."
                        ),
                        "parameters": [IDEMPOTENCY_KEY],
                        "requestBody": _json_body(ParcelIn),
                        "responses": {
                            "201": {
                                **_body(ParcelOut, "The new parcel"),
                                "headers": {
                                    "Location": {
                                        "description": "The parcel's URL",
                                        "schema": {"type": "string"},
                                    }
                                },
                            },
                            "400": _error("The body is not JSON"),
                            "409": _error(
                                "Tracking number taken by another of your parcels "
                                "(`duplicate_tracking_number`; numbers are unique per merchant), "
                                "Idempotency-Key reused, the chosen slot "
                                "or locker is full (`slot_full`, `locker_full`), or your "
                                "bookings through the API already hold your share of the slot's "
                                "places (`merchant_slot_share_full`: each merchant's checkout "
                                "may book only its share, set by Lastmile, so one shop can't "
                                "fill a slot every shop uses; recipients on their parcel page "
                                "are not limited by it)"
                            ),
                            "422": _error(
                                "A field is invalid; `field` names it. A tracking number of "
                                "a series Lastmile issues itself is `reserved_tracking_number`: "
                                "the series of the numbers it gives parcels created without "
                                "one (LM… with its country code, as in LM123456785SE), that of "
                                "its return labels (LR… with its country code) and any "
                                "return's number"
                            ),
                            **AUTH_ERRORS,
                        },
                    }
                )
            },
            "/parcels/{tracking_number}": {
                "get": {
                    "operationId": "getParcel",
                    "tags": ["Parcels"],
                    "summary": "A parcel with its events (its merchant's or carrier's key)",
                    "description": (
                        "Its status, ETA window and predicted delivery, tracking events "
                        "(oldest first) and current delivery choice; a merchant key also sees "
                        "every choice made, the returns and complaints and the messages the "
                        "recipient was sent. The same number may belong to parcels of two "
                        "merchants: a carrier names the merchant with `merchant`."
                    ),
                    "parameters": [
                        tracking_number,
                        _query(
                            "merchant",
                            {"type": "string", "minLength": 1, "maxLength": 120},
                            "carrier key: the merchant's name, for a number two merchants' "
                            "parcels share",
                        ),
                    ],
                    "responses": {
                        "200": _body(ParcelOut, "The parcel"),
                        "404": _error(
                            "No parcel of yours has this number (or none from `merchant`)"
                        ),
                        "409": _error(
                            "Carrier key: more than one parcel you carry has this number "
                            "(`ambiguous_tracking_number`; two merchants may use one number): "
                            "send `merchant`"
                        ),
                        "422": _error(
                            "Not a valid S10 number, or `merchant` is empty or invalid; "
                            "`field` names it"
                        ),
                        **ANY_KEY_ERRORS,
                    },
                }
            },
            "/delivery-options": {
                "get": {
                    "operationId": "getDeliveryOptions",
                    "tags": ["Delivery"],
                    "summary": "Delivery options with CO2e for an address (merchant key)",
                    "description": (
                        "For checkout. Labels follow Accept-Language (en, sv, nb, da, fi). "
                        "Pass one option back as `delivery_choice` on POST /parcels. A slot "
                        "whose share your bookings through the API already hold is "
                        "`available: false` for you (`share_remaining: 0`) while it may still "
                        "have places left."
                    ),
                    "parameters": [
                        _query(
                            "postcode",
                            {"type": "string", "example": "113 48"},
                            "The delivery address's postcode",
                            required=True,
                        ),
                        COUNTRY_QUERY,
                        _query("weight", {"type": "integer", "minimum": 0}, "grams"),
                        _query("value", {"type": "string"}, "the parcel's value (safe place)"),
                        _query(
                            "carrier",
                            {"type": "string"},
                            "the carrier it ships with, for `predicted_delivery` on options "
                            "with no fixed day (left out: your only carrier)",
                        ),
                    ],
                    "responses": {
                        "200": _body(DeliveryOptionsOut, "The options (empty outside our zones)"),
                        "422": _error("A parameter is empty or invalid; `field` names it"),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/delivery-estimates": {
                "post": {
                    "operationId": "createDeliveryEstimate",
                    "tags": ["Delivery"],
                    "summary": "When a parcel not made yet would arrive (merchant key)",
                    "description": (
                        "For the product page and checkout: the predicted delivery day and "
                        "range for a carrier, origin and destination, learned from comparable "
                        "parcels (README: Predicted delivery dates). The same object as a "
                        "parcel's `predicted_delivery`; dates are local to the destination."
                    ),
                    "requestBody": _json_body(DeliveryEstimateIn),
                    "responses": {
                        "200": _body(DeliveryEstimateOut, "The prediction"),
                        "400": _error("The body is not JSON"),
                        "422": _error(
                            "A field is invalid; `field` names it (`unknown_carrier`, "
                            "`bad_ship_date`, `country_required`)"
                        ),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/manifest": {
                "get": {
                    "operationId": "getManifest",
                    "tags": ["Manifest"],
                    "summary": "Parcels due in a zone on a day (carrier key)",
                    "description": (
                        "Your parcels whose delivery window starts on the day (local to the "
                        "zone), not yet delivered or otherwise finished, ordered by window and "
                        "postcode, each with its delivery choice: the vehicle of a booked slot, "
                        "the pickup point, or instructions (safe place, neighbour, hold). "
                        "`format=csv` answers the same stops as CSV; a generated client reads "
                        "that from GET /manifest.csv, the same answer with a type of its own."
                    ),
                    "parameters": [
                        *manifest_day,
                        _query(
                            "format",
                            {"type": "string", "enum": ["json", "csv"], "default": "json"},
                            "`csv`: the answer of GET /manifest.csv instead of JSON",
                        ),
                    ],
                    "responses": {
                        "200": {
                            "description": "The stops, as JSON (or CSV with `format=csv`)",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": REF.format(model="ManifestOut")}
                                },
                                "text/csv": {"schema": {"type": "string"}},
                            },
                        },
                        **manifest_errors,
                    },
                }
            },
            "/manifest.csv": {
                "get": {
                    "operationId": "getManifestCsv",
                    "tags": ["Manifest"],
                    "summary": "The manifest as CSV (carrier key)",
                    "description": (
                        "The stops of GET /manifest, one row each under a header row, in "
                        "these columns: tracking_number, status, recipient_name, phone, "
                        "address_line, postcode, city, weight_grams, window_start, "
                        "window_end, choice, vehicle, pickup_point, instructions. Times are "
                        "ISO 8601 in UTC; an empty cell is null. A cell a spreadsheet would "
                        "run as a formula (`=`, `+`, `-`, `@`) starts with an apostrophe; "
                        "phone numbers stay as they are. Byte for byte the answer of "
                        "GET /manifest?format=csv."
                    ),
                    "parameters": manifest_day,
                    "responses": {
                        "200": {
                            "description": "The stops as CSV (RFC 4180, UTF-8)",
                            "headers": {
                                "Content-Disposition": {
                                    "description": (
                                        'attachment; filename="manifest-<zone id>-<date>.csv"'
                                    ),
                                    "schema": {"type": "string"},
                                }
                            },
                            "content": {
                                "text/csv": {
                                    "schema": {"type": "string"},
                                    "example": (
                                        "tracking_number,status,recipient_name,phone,"
                                        "address_line,postcode,city,weight_grams,"
                                        "window_start,window_end,choice,vehicle,"
                                        "pickup_point,instructions\r\n"
                                    ),
                                }
                            },
                        },
                        **manifest_errors,
                    },
                }
            },
            "/webhooks": {
                "post": _write(
                    {
                        "operationId": "createWebhook",
                        "tags": ["Webhooks"],
                        "summary": "Register an HTTPS endpoint for status changes (merchant key)",
                        "description": (
                            "Each delivery is a JSON POST signed with the endpoint's secret: "
                            "header `X-Lastmile-Signature: sha256=<hex HMAC-SHA256 of the raw "
                            "body>`, and `X-Lastmile-Delivery` the same on every retry. The "
                            "secret is in this answer only: keep it."
                        ),
                        "requestBody": _json_body(WebhookIn),
                        "responses": {
                            "201": _body(WebhookCreatedOut, "The endpoint, with its secret (once)"),
                            "422": _error("Not an https URL to a public host, or too many"),
                            **AUTH_ERRORS,
                        },
                    }
                ),
                "get": {
                    "operationId": "listWebhooks",
                    "tags": ["Webhooks"],
                    "summary": "Your webhook endpoints (merchant key)",
                    "description": "Every endpoint you registered, without its secret.",
                    "responses": {"200": _body(WebhookListOut, "Endpoints"), **AUTH_ERRORS},
                },
            },
            "/webhooks/{id}": {
                "delete": _write(
                    {
                        "operationId": "deleteWebhook",
                        "tags": ["Webhooks"],
                        "summary": "Stop deliveries to an endpoint (merchant key)",
                        "description": (
                            "Removes the endpoint; nothing more is sent to it, retries included."
                        ),
                        "parameters": [
                            {
                                "name": "id",
                                "in": "path",
                                "required": True,
                                "description": "The endpoint's id, from POST or GET /webhooks",
                                "schema": {"type": "integer"},
                            }
                        ],
                        "responses": {
                            "204": {"description": "Removed"},
                            "404": _error("No webhook of yours has this id"),
                            **AUTH_ERRORS,
                        },
                    }
                )
            },
            "/returns": {
                "post": _write(
                    {
                        "operationId": "createReturn",
                        "tags": ["Returns"],
                        "summary": "Open a return for your customer (merchant key)",
                        "description": (
                            "The same rules as the customer's own return page: items of any "
                            "delivered parcel of the order, never more than delivered minus "
                            "already returned, within the policy's window and methods. Approved "
                            "at once when the policy approves automatically; `label_url` is null "
                            "until then."
                        ),
                        "requestBody": _json_body(ReturnIn),
                        "responses": {
                            "201": _body(ReturnOut, "The new return"),
                            "400": _error("The body is not JSON"),
                            "404": _error("No parcel of yours has this tracking number"),
                            "409": _error("The home pickup slot is full (`slot_full`)"),
                            "422": _error(
                                "Not allowed: `window_closed`, `unknown_item`, "
                                "`item_not_returnable`, `too_many`, `invalid_reason`, "
                                "`reason_text_required`, `invalid_method`, `slot_not_found`, "
                                "`too_late`; `field` names the line, e.g. `items.0.quantity`"
                            ),
                            **AUTH_ERRORS,
                        },
                    }
                ),
                "get": {
                    "operationId": "listReturns",
                    "tags": ["Returns"],
                    "summary": "Your returns, oldest change first (merchant key)",
                    "description": (
                        "Returns changed at or after `since`. Pages overlap by design: a "
                        "return changed at exactly `next_since` comes again on the next page, "
                        "so nothing is missed; de-duplicate by `rma` and `updated_at`."
                    ),
                    "parameters": [
                        _query(
                            "since",
                            {"type": "string", "format": "date-time"},
                            "ISO 8601 with a time zone; pass `next_since` to get the next page",
                        )
                    ],
                    "responses": {
                        "200": _body(ReturnListOut, "Up to 200 returns"),
                        "422": _error(
                            "`since` is empty or not a time with a time zone (`field`: `since`)"
                        ),
                        **AUTH_ERRORS,
                    },
                },
            },
            "/returns/{rma}": {
                "get": {
                    "operationId": "getReturn",
                    "tags": ["Returns"],
                    "summary": "One return (merchant key)",
                    "description": (
                        "Its status, items and reasons, label links (once approved) and refund."
                    ),
                    "parameters": [RMA],
                    "responses": {
                        "200": _body(ReturnOut, "The return"),
                        "404": _error("No return of yours has this RMA"),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/returns/{rma}/received": {
                "post": _write(
                    {
                        "operationId": "returnReceived",
                        "tags": ["Returns"],
                        "summary": "The items are back at the shop (merchant key)",
                        "description": (
                            "Marks an approved return received (the customer is told). Again "
                            "for a received return changes nothing."
                        ),
                        "parameters": [RMA],
                        "responses": {
                            "200": _body(ReturnOut, "The return, now received"),
                            "404": _error("No return of yours has this RMA"),
                            "409": _error("Not approved or turned down (`not_approved`)"),
                            **AUTH_ERRORS,
                        },
                    }
                )
            },
            "/returns/{rma}/refunded": {
                "post": _write(
                    {
                        "operationId": "returnRefunded",
                        "tags": ["Returns"],
                        "summary": "The customer was paid back (merchant key)",
                        "description": (
                            "Records the amount paid back, at most the returned items' value. "
                            "The same amount again changes nothing; the customer is told once."
                        ),
                        "parameters": [RMA],
                        "requestBody": _json_body(RefundIn),
                        "responses": {
                            "200": _body(ReturnOut, "The return, now refunded"),
                            "400": _error("The body is not JSON"),
                            "404": _error("No return of yours has this RMA"),
                            "409": _error(
                                "Refunded already with another amount (`already_refunded`), or "
                                "not approved (`not_approved`)"
                            ),
                            "422": _error(
                                "`amount` is not above 0 and at most the returned items' value"
                            ),
                            **AUTH_ERRORS,
                        },
                    }
                )
            },
            "/zones": {
                "get": {
                    "operationId": "listZones",
                    "tags": ["Network"],
                    "summary": "Every delivery zone (any key)",
                    "description": (
                        "Each zone's postcode prefixes with their centres, its green day, the "
                        "cutoff for changes and the days an operator closed it from today on."
                    ),
                    "responses": {"200": _body(ZonesOut, "Zones by name"), **ANY_KEY_ERRORS},
                }
            },
            "/pickup-points": {
                "get": {
                    "operationId": "listNearestPickupPoints",
                    "tags": ["Network"],
                    "summary": "Open pickup points and lockers nearest a postcode (any key)",
                    "description": (
                        "Measured from the centre of the postcode's area (its zone's longest "
                        "matching prefix), nearest first, up to 512 km. Points closed today by "
                        "an operator or their carrier are left out; those merely outside their "
                        "opening hours are listed with `open_now: false` and `next_opening`."
                    ),
                    "parameters": [
                        _query(
                            "postcode",
                            {"type": "string", "example": "113 48"},
                            "Where to search from: the centre of its area",
                            required=True,
                        ),
                        COUNTRY_QUERY,
                        _query(
                            "limit",
                            {"type": "integer", "minimum": 1, "maximum": 50, "default": 10},
                            "How many points at most",
                        ),
                    ],
                    "responses": {
                        "200": _body(NearbyOut, "The nearest open points"),
                        "404": _error(
                            "No zone of ours knows where this postcode is (`postcode_not_served`)"
                        ),
                        "422": _error(
                            "A parameter is invalid, or the postcode is known in two countries "
                            "and `country` is missing (`country_required`); `field` names it"
                        ),
                        **ANY_KEY_ERRORS,
                    },
                }
            },
            "/pickup-points/import": {
                "post": _write(
                    {
                        "operationId": "importPickupPoints",
                        "tags": ["Network"],
                        "summary": "Create and update your points from GeoJSON (carrier key)",
                        "description": (
                            "All or nothing: one bad feature and nothing is written; `errors` "
                            "lists every bad feature. Points are matched by `external_id`, so "
                            "sending the same collection again changes nothing (`unchanged`). "
                            "A point you closed with DELETE, or that `close_missing` closed, "
                            "is open again once listed."
                        ),
                        "parameters": [
                            _query(
                                "close_missing",
                                {"type": "boolean", "default": False},
                                "Close (never delete) your open points the collection leaves "
                                "out; their bookings are withdrawn and the recipients told",
                            ),
                            _query(
                                "dry_run",
                                {"type": "boolean", "default": False},
                                "Check and count only; nothing is written or sent",
                            ),
                        ],
                        "requestBody": _json_body(ImportIn),
                        "responses": {
                            "200": _body(ImportOut, "What was (or would be) done"),
                            "400": _error("The body is not JSON"),
                            "409": _body(
                                ImportErrorOut,
                                "A locker would hold fewer compartments than are booked "
                                "(`compartments_booked`), or another request changed a point "
                                "meanwhile (`concurrent_change`)",
                            ),
                            "422": _body(
                                ImportErrorOut,
                                "Bad features (`invalid_features`; `errors`: feature number, "
                                "field, message; feature 0 is the document), or a bad query "
                                "parameter",
                            ),
                            **AUTH_ERRORS,
                        },
                    }
                )
            },
            "/pickup-points/{external_id}": {
                "put": _write(
                    {
                        "operationId": "putPickupPoint",
                        "tags": ["Network"],
                        "summary": "Create or update one of your points (carrier key)",
                        "description": (
                            "Checked by the same rules as pickup_points.csv. A point you closed "
                            "with DELETE is open again (`reopened: true`); a closure made by "
                            "an operator stays (see `closed_from`)."
                        ),
                        "parameters": [EXTERNAL_ID],
                        "requestBody": _json_body(PickupPointIn),
                        "responses": {
                            "200": _body(PickupPointOut, "Updated, or unchanged (`result`)"),
                            "201": _body(PickupPointOut, "Created"),
                            "400": _error("The body is not JSON"),
                            "404": _error("No such URL: the external id has a line break"),
                            "409": _error(
                                "A locker would hold fewer compartments than are booked, or "
                                "stop being a locker (`compartments_booked`), or another "
                                "request changed it meanwhile (`concurrent_change`)"
                            ),
                            "422": _error(
                                "A field is invalid (`invalid_pickup_point`: opening hours that "
                                "don't parse, latitude out of range…); `field` names the first, "
                                "`details` all"
                            ),
                            **AUTH_ERRORS,
                        },
                    }
                ),
                "delete": _write(
                    {
                        "operationId": "closePickupPoint",
                        "tags": ["Network"],
                        "summary": "Close one of your points for good (carrier key)",
                        "description": (
                            "Never deleted: closed from today (local), so history keeps "
                            "pointing at it. Parcels booked on it get their booking withdrawn, "
                            "the carrier's own plan applies again and each recipient is told "
                            "(`choice_withdrawn`). PUT or import it again to reopen it."
                        ),
                        "parameters": [EXTERNAL_ID],
                        "responses": {
                            "200": _body(PickupPointClosedOut, "Closed"),
                            "404": _error("You have no point with this external id"),
                            "409": _error(
                                "Another request changed it meanwhile (`concurrent_change`)"
                            ),
                            **AUTH_ERRORS,
                        },
                    }
                ),
            },
            "/events": {
                "post": _write(
                    {
                        "operationId": "postEvents",
                        "tags": ["Tracking events"],
                        "summary": "Push up to 1000 tracking events (carrier key)",
                        "description": (
                            "Each event is accepted or rejected on its own; the answer has one "
                            "result per event, in order. An event whose `event_id` you sent "
                            "before is a `duplicate` and changes nothing, so a batch can be "
                            "sent again safely. `code` is the parcel's new status; `eta_from` "
                            "and `eta_to` set its delivery window. Events for a return's "
                            "tracking number move the return."
                        ),
                        "requestBody": _json_body(EventBatchIn),
                        "responses": {
                            "200": _body(
                                EventBatchOut,
                                "One result per event, in order. A rejected event says why: "
                                "`unknown_parcel` (no parcel or return of yours has the number, "
                                "or none of the merchant named in `merchant`: then `field` is "
                                "`merchant`), `ambiguous_tracking_number` (more than one parcel "
                                "you carry has it, as two merchants may use one number; nothing "
                                "is changed: send the event again with `merchant`, the name of "
                                "the merchant whose parcel it is), or a field that breaks a rule",
                            ),
                            "400": _error("The body is not JSON"),
                            "413": _error("More than 1000 events; nothing was written"),
                            "422": _error("The body is not a batch of events"),
                            **AUTH_ERRORS,
                        },
                    }
                )
            },
        },
    }
