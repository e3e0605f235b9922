"""API handlers: parse with pydantic, call one service, answer in the spec's shape."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, jsonify
from pydantic import ValidationError

from portal.api import bp
from portal.api.auth import current_key, require_key
from portal.api.complaints import complaints_json
from portal.api.delivery import apply_choice, choice_json
from portal.api.errors import from_domain, json_error
from portal.api.openapi import build_openapi
from portal.api.parsing import parse_body, query_text
from portal.api.returns import return_json
from portal.api.schemas import (
    EventBatchOut,
    EventIn,
    ParcelIn,
    ParcelOut,
    RawEventBatch,
    WebhookCreatedOut,
    WebhookIn,
    WebhookListOut,
)
from portal.api.writes import api_write
from portal.extensions import limiter
from portal.models import Parcel
from portal.observability.metrics import count_events
from portal.services import parcels as parcel_service
from portal.services.delivery import choice_history
from portal.services.edd import predict_parcel
from portal.services.errors import DomainError
from portal.services.events import EventData, EventResult, accept_events
from portal.services.parcels import ParcelRecord
from portal.services.returns import returns_for
from portal.services.tracking import event_rows
from portal.services.webhooks import (
    create_endpoint,
    delete_endpoint,
    list_endpoints,
    recipient_messages,
)
from portal.transactions import read_only


def tracking_url(number: str) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/t/{number}"


class _HasEverything:
    """A parcel read as the model: nothing known about what else it has, so all is asked for."""

    has_choices = has_returns = has_cases = has_messages = True


_HAS_EVERYTHING = _HasEverything()


def _messages_json(parcel: Parcel | ParcelRecord) -> list[dict[str, Any]]:
    return [
        {
            "trigger": n.trigger,
            "channel": str(n.channel),
            "state": str(n.state),
            "created_at": n.created_at,
            "sent_at": n.sent_at,
            "delivered_at": n.delivered_at,
            "failed_at": n.failed_at,
        }
        for n in recipient_messages(parcel)
    ]


def parcel_json(parcel: Parcel | ParcelRecord, *, for_merchant: bool = True) -> dict[str, Any]:
    """The API's parcel, from the model (after a write) or a ParcelRecord (a read, which
    says what else the parcel has: nothing is asked for that it has none of)."""
    has = parcel if isinstance(parcel, ParcelRecord) else _HAS_EVERYTHING
    history = choice_history(parcel) if has.has_choices else []
    current = next((c for c in reversed(history) if c.superseded_at is None), None)
    out = ParcelOut(
        tracking_number=parcel.tracking_number,
        tracking_url=tracking_url(parcel.tracking_number),
        status=parcel.status,
        merchant=parcel.merchant.name,
        carrier=parcel.carrier.name,
        order_ref=parcel.order_ref,
        eta={"from_": parcel.eta_from, "to": parcel.eta_to} if parcel.eta_from else None,
        predicted_delivery=_predicted(parcel),
        recipient={
            "name": parcel.recipient_name,
            "phone": parcel.recipient_phone,
            "email": parcel.recipient_email,
            "address_line": parcel.address_line,
            "postcode": parcel.postcode,
            "city": parcel.city,
            "country": parcel.country,
            "language": parcel.language,
        },
        items=[
            {
                "sku": i.sku,
                "name": i.name,
                "quantity": i.quantity,
                "unit_price": i.unit_price,
                "returnable": i.returnable,
            }
            for i in parcel.items
        ],
        weight_grams=parcel.weight_grams,
        currency=parcel.currency,
        zone=parcel.zone.name if parcel.zone else None,
        events=[e._asdict() for e in event_rows(parcel.id)],
        notifications=(
            (_messages_json(parcel) if has.has_messages else []) if for_merchant else None
        ),
        returns=(
            [return_json(r) for r in returns_for(parcel.id, with_items=True)]
            if for_merchant and has.has_returns
            else []
        ),
        complaints=(complaints_json(parcel.id) if for_merchant and has.has_cases else []),
        choice=choice_json(current, parcel.time_zone) if current else None,
        choices=[choice_json(c, parcel.time_zone) for c in history] if for_merchant else [],
        created_at=parcel.created_at,
        updated_at=parcel.updated_at,
    )
    return out.model_dump(mode="json", by_alias=True)


def _predicted(parcel: Parcel | ParcelRecord) -> dict[str, Any] | None:
    prediction = predict_parcel(parcel, parcel.time_zone)
    return prediction.as_json() if prediction else None


@bp.post("/parcels")
@require_key("merchant")
@api_write
def create_parcel():
    data, problem = parse_body(ParcelIn)
    if problem:
        return problem
    try:
        parcel = parcel_service.create_parcel(
            current_key().merchant,
            _parcel_data(data),
            s10_prefix=current_app.config["S10_PREFIX"],
            s10_country=current_app.config["S10_COUNTRY"],
            merchant_chose=data.delivery_choice is not None,
        )
        if data.delivery_choice is not None:
            # Same transaction: a full slot (409) or a refused choice leaves no parcel behind.
            apply_choice(parcel, data.delivery_choice)
    except DomainError as exc:
        return from_domain(exc)
    response = jsonify(parcel_json(parcel))
    response.headers["Location"] = f"/api/v1/parcels/{parcel.tracking_number}"
    return response, 201


def _parcel_data(data: ParcelIn) -> parcel_service.ParcelData:
    r = data.recipient
    return parcel_service.ParcelData(
        carrier=data.carrier,
        recipient=parcel_service.RecipientData(**r.model_dump()),
        items=[parcel_service.ItemData(**i.model_dump()) for i in data.items],
        weight_grams=data.weight_grams,
        tracking_number=data.tracking_number,
        order_ref=data.order_ref,
        currency=data.currency,
        origin_postcode=data.origin_postcode,
    )


@bp.get("/parcels/<tracking_number>")
@read_only
@require_key()
def get_parcel(tracking_number: str):
    key = current_key()
    try:
        merchant_name = query_text("merchant")
        # Only the caller's parcels are looked at: someone else's answers exactly like a
        # missing one, and another merchant's parcel under the same number is never shown.
        # `?merchant=` lets a carrier say which of two merchants' parcels under one number
        # it means (otherwise 409 ambiguous_tracking_number).
        parcel = parcel_service.find_own_parcel(
            tracking_number,
            merchant_id=key.merchant_id,
            carrier_id=key.carrier_id,
            merchant_name=merchant_name,
            records=True,  # read only: plain rows, and nothing read that is not there
        )
    except DomainError as exc:
        return from_domain(exc)
    return jsonify(parcel_json(parcel, for_merchant=parcel.merchant_id == key.merchant_id))


@bp.post("/events")
@require_key("carrier")
@api_write
def post_events():
    batch, problem = parse_body(RawEventBatch)
    if problem:
        return problem
    limit = current_app.config["EVENT_BATCH_MAX"]
    if len(batch.events) > limit:
        return json_error(
            413,
            "batch_too_large",
            f"Send at most {limit} events per call; this batch has {len(batch.events)}.",
            "events",
        )

    results: list[EventResult | None] = []
    valid: list[EventData] = []
    for raw in batch.events:
        try:
            event = EventIn.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors(include_url=False, include_input=False)[0]
            event_id = raw.get("event_id") if isinstance(raw, dict) else None
            field = ".".join(str(p) for p in err["loc"]) or None
            code = {"code": "unknown_code", "occurred_at": "bad_time"}.get(field or "", err["type"])
            results.append(
                EventResult.rejected(
                    event_id if isinstance(event_id, str) else None, code, err["msg"], field
                )
            )
            continue
        results.append(None)
        valid.append(EventData(**event.model_dump()))

    accepted, _changes = accept_events(
        current_key().carrier,
        valid,
        max_future=timedelta(seconds=current_app.config["EVENT_MAX_FUTURE_SECONDS"]),
    )
    it = iter(accepted)
    merged = [r if r is not None else next(it) for r in results]
    counts = {
        s: sum(1 for r in merged if r.status == s) for s in ("accepted", "duplicate", "rejected")
    }
    count_events(counts)  # for Prometheus: what carriers send, refused by the schema or not
    out = EventBatchOut(
        **counts,
        results=[
            {
                "event_id": r.event_id,
                "status": r.status,
                "error": (
                    {"code": r.code, "message": r.message, "field": r.field}
                    if r.status == "rejected"
                    else None
                ),
            }
            for r in merged
        ],
    )
    return jsonify(out.model_dump(mode="json"))


@bp.post("/webhooks")
@require_key("merchant")
@api_write
def create_webhook():
    data, problem = parse_body(WebhookIn)
    if problem:
        return problem
    try:
        endpoint = create_endpoint(
            current_key().merchant,
            data.url,
            allow_insecure=current_app.config["WEBHOOK_ALLOW_INSECURE"],
        )
    except DomainError as exc:
        return from_domain(exc)
    out = WebhookCreatedOut(
        id=endpoint.id, url=endpoint.url, secret=endpoint.secret, created_at=endpoint.created_at
    )
    return jsonify(out.model_dump(mode="json")), 201


@bp.get("/webhooks")
@require_key("merchant")
def get_webhooks():
    endpoints = list_endpoints(current_key().merchant)
    out = WebhookListOut(
        webhooks=[{"id": e.id, "url": e.url, "created_at": e.created_at} for e in endpoints]
    )
    return jsonify(out.model_dump(mode="json"))


@bp.delete("/webhooks/<int:endpoint_id>")
@require_key("merchant")
@api_write
def remove_webhook(endpoint_id: int):
    try:
        delete_endpoint(current_key().merchant, endpoint_id)
    except DomainError as exc:
        return from_domain(exc)
    return "", 204


@bp.get("/openapi.json")
@limiter.exempt
def openapi():
    return jsonify(build_openapi(current_app.config["PUBLIC_BASE_URL"]))
