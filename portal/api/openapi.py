"""The OpenAPI 3.1 document, generated from the pydantic models the handlers use."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from portal.api.complaints import ComplaintOut
from portal.api.schemas import (
    DeliveryOptionsOut,
    ErrorOut,
    EventBatchIn,
    EventBatchOut,
    ManifestOut,
    ParcelIn,
    ParcelOut,
    RefundIn,
    ReturnIn,
    ReturnListOut,
    ReturnOut,
    WebhookCreatedOut,
    WebhookIn,
    WebhookListOut,
)

REF = "#/components/schemas/{model}"
RMA = {
    "name": "rma",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "example": "YC9W-KCR6"},
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
        ManifestOut,
        ComplaintOut,
        ReturnIn,
        ReturnOut,
        RefundIn,
        ReturnListOut,
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
                                "Tracking number taken, Idempotency-Key reused, or the chosen slot "
                                "or locker is full (`slot_full`, `locker_full`)"
                            ),
                            "422": _error("A field is invalid; `field` names it"),
                            **AUTH_ERRORS,
                        },
                    }
                )
            },
            "/parcels/{tracking_number}": {
                "get": {
                    "operationId": "getParcel",
                    "summary": "A parcel with its events (its merchant's or carrier's key)",
                    "parameters": [tracking_number],
                    "responses": {
                        "200": _body(ParcelOut, "The parcel"),
                        "404": _error("No parcel of yours has this number"),
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
                        "For checkout. Labels follow Accept-Language (en, sv). Pass one option "
                        "back as `delivery_choice` on POST /parcels."
                    ),
                    "parameters": [
                        _query("postcode", {"type": "string"}, required=True),
                        _query("country", {"type": "string", "pattern": "^[A-Za-z]{2}$"}),
                        _query("weight", {"type": "integer", "minimum": 0}, "grams"),
                        _query("value", {"type": "string"}, "the parcel's value (safe place)"),
                    ],
                    "responses": {
                        "200": _body(DeliveryOptionsOut, "The options (empty outside our zones)"),
                        "422": _error("A parameter is invalid; `field` names it"),
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
            "/events": {
                "post": _write(
                    {
                        "operationId": "postEvents",
                        "summary": "Push up to 1000 tracking events (carrier key)",
                        "requestBody": _json_body(EventBatchIn),
                        "responses": {
                            "200": _body(EventBatchOut, "One result per event, in order"),
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
