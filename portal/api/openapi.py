"""The OpenAPI 3.1 document, generated from the pydantic models the handlers use."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
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

REF = "#/components/schemas/{model}"
RMA = {
    "name": "rma",
    "in": "path",
    "required": True,
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


AUTH_ERRORS = {
    "401": _error("No or unknown API key"),
    "403": _error("The key is of the wrong kind for this call"),
    "429": _error("Too many requests for this key, or too many wrong keys from this address"),
}

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
    ]
    _, top = models_json_schema(
        [(m, "validation" if m.__name__.endswith("In") else "serialization") for m in models],
        ref_template=REF,
    )
    # ParcelOut lists complaints as plain objects (schemas.py); say what each one holds.
    complaints = top["$defs"]["ParcelOut"]["properties"]["complaints"]
    complaints["items"] = {"$ref": REF.format(model="ComplaintOut")}
    complaints["description"] = "The parcel's complaint cases, oldest first (merchant keys only)"
    return top["$defs"]


def build_openapi(base_url: str) -> dict[str, Any]:
    tracking_number = {
        "name": "tracking_number",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "example": "RR123456785SE"},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Lastmile portal API",
            "version": "1",
            "description": "Merchants create parcels; carriers push tracking events.",
        },
        "servers": [{"url": base_url.rstrip("/") + "/api/v1"}],
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/parcels": {
                "post": _write(
                    {
                        "operationId": "createParcel",
                        "summary": "Create a parcel (merchant key)",
                        "parameters": [IDEMPOTENCY_KEY],
                        "requestBody": _json_body(ParcelIn),
                        "responses": {
                            "201": _body(ParcelOut, "The new parcel"),
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
                    "summary": "A parcel with its events (its merchant's or carrier's key)",
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
                        "422": _error("Not a valid S10 number"),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/delivery-options": {
                "get": {
                    "operationId": "getDeliveryOptions",
                    "summary": "Delivery options with CO2e for an address (merchant key)",
                    "description": (
                        "For checkout. Labels follow Accept-Language (en, sv, nb, da, fi). "
                        "Pass one option back as `delivery_choice` on POST /parcels. A slot "
                        "whose share your bookings through the API already hold is "
                        "`available: false` for you (`share_remaining: 0`) while it may still "
                        "have places left."
                    ),
                    "parameters": [
                        _query("postcode", {"type": "string"}, required=True),
                        _query("country", {"type": "string", "pattern": "^[A-Za-z]{2}$"}),
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
                        "422": _error("A parameter is invalid; `field` names it"),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/delivery-estimates": {
                "post": {
                    "operationId": "createDeliveryEstimate",
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
                    "summary": "Parcels due in a zone on a day (carrier key)",
                    "parameters": [
                        _query("date", {"type": "string", "format": "date"}, required=True),
                        _query("zone", {"type": "string"}, "zone id or name", required=True),
                        _query("format", {"type": "string", "enum": ["json", "csv"]}),
                    ],
                    "responses": {
                        "200": {
                            "description": "The stops, as JSON or CSV",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": REF.format(model="ManifestOut")}
                                },
                                "text/csv": {"schema": {"type": "string"}},
                            },
                        },
                        "404": _error("No such zone"),
                        "422": _error("A parameter is invalid; `field` names it"),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/webhooks": {
                "post": _write(
                    {
                        "operationId": "createWebhook",
                        "summary": "Register an HTTPS endpoint for status changes (merchant key)",
                        "description": (
                            "Each delivery is a JSON POST signed with the endpoint's secret: "
                            "header `X-Lastmile-Signature: sha256=<hex HMAC-SHA256 of the raw "
                            "body>`."
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
                    "summary": "Your webhook endpoints (merchant key)",
                    "responses": {"200": _body(WebhookListOut, "Endpoints"), **AUTH_ERRORS},
                },
            },
            "/webhooks/{id}": {
                "delete": {
                    "operationId": "deleteWebhook",
                    "summary": "Stop deliveries to an endpoint (merchant key)",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {
                        "204": {"description": "Removed"},
                        "404": _error("No webhook of yours has this id"),
                        **AUTH_ERRORS,
                    },
                }
            },
            "/returns": {
                "post": _write(
                    {
                        "operationId": "createReturn",
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
                        "422": _error("`since` is not a time with a time zone"),
                        **AUTH_ERRORS,
                    },
                },
            },
            "/returns/{rma}": {
                "get": {
                    "operationId": "getReturn",
                    "summary": "One return (merchant key)",
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
                        "summary": "The items are back at the shop (merchant key)",
                        "description": "Again for a received return changes nothing.",
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
                        "summary": "The customer was paid back (merchant key)",
                        "description": (
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
                    "summary": "Every delivery zone (any key)",
                    "description": (
                        "Each zone's postcode prefixes with their centres, its green day, the "
                        "cutoff for changes and the days an operator closed it from today on."
                    ),
                    "responses": {"200": _body(ZonesOut, "Zones by name"), **AUTH_ERRORS},
                }
            },
            "/pickup-points": {
                "get": {
                    "operationId": "listNearestPickupPoints",
                    "summary": "Open pickup points and lockers nearest a postcode (any key)",
                    "description": (
                        "Measured from the centre of the postcode's area (its zone's longest "
                        "matching prefix), nearest first, up to 512 km. Points closed today by "
                        "an operator or their carrier are left out; those merely outside their "
                        "opening hours are listed with `open_now: false` and `next_opening`."
                    ),
                    "parameters": [
                        _query("postcode", {"type": "string"}, required=True),
                        _query(
                            "country",
                            {"type": "string", "pattern": "^[A-Za-z]{2}$"},
                            "ISO 3166-1 alpha-2; may be left out when only one country we "
                            "serve knows the postcode",
                        ),
                        _query(
                            "limit",
                            {"type": "integer", "minimum": 1, "maximum": 50, "default": 10},
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
                        **AUTH_ERRORS,
                    },
                }
            },
            "/pickup-points/import": {
                "post": _write(
                    {
                        "operationId": "importPickupPoints",
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
                        "summary": "Push up to 1000 tracking events (carrier key)",
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
