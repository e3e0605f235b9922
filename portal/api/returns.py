"""Returns for merchants: open one for a customer, mark received and refunded, list changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app, jsonify, url_for

from portal.api import bp
from portal.api.auth import current_key, require_key
from portal.api.errors import from_domain, json_error
from portal.api.parsing import parse_body, query_text
from portal.api.schemas import RefundIn, ReturnIn, ReturnListOut, ReturnOut
from portal.api.writes import api_write
from portal.models import Return, ReturnStatus
from portal.services import returns as service
from portal.services.errors import DomainError, NotFound
from portal.services.label_keys import label_key
from portal.services.parcels import find_own_parcel

LIST_LIMIT = 200


def label_url(ret: Return, kind: str = "label.png", external: bool = False) -> str:
    """The label's link with its key (services/label_keys.py), which opens it without a login."""
    path = url_for("returns.label_file", rma=ret.rma, kind=kind, k=label_key(ret))
    if external:
        return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path
    return path


def return_json(ret: Return) -> dict[str, Any]:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    labelled = ret.status not in (ReturnStatus.REQUESTED, ReturnStatus.REJECTED)
    out = ReturnOut(
        rma=ret.rma,
        return_tracking_number=ret.return_tracking_number,
        tracking_number=ret.parcel.tracking_number,
        order_ref=ret.order_ref,
        status=ret.status,
        method=ret.method,
        created_by=ret.created_by,
        label_url=label_url(ret, "label.png", external=True) if labelled else None,
        label_svg_url=label_url(ret, "label.svg", external=True) if labelled else None,
        return_url=f"{base}/r/{ret.rma}",
        currency=ret.currency,
        fee=ret.fee,
        refund_amount=ret.refund_amount,
        items=[
            {
                "sku": line.parcel_item.sku,
                "name": line.parcel_item.name,
                "tracking_number": line.parcel_item.parcel.tracking_number,
                "quantity": line.quantity,
                "reason": line.reason,
                "reason_text": line.reason_text,
            }
            for line in ret.items
        ],
        dropped_off_at=ret.dropped_off_at,
        dropped_off_place=ret.dropped_off_place,
        received_at=ret.received_at,
        refunded_at=ret.refunded_at,
        created_at=ret.created_at,
        updated_at=ret.updated_at,
    )
    return out.model_dump(mode="json")


def _own_return(rma: str) -> Return:
    """The merchant's return; anyone else's answers exactly like a missing one (the same code,
    field and words), so an RMA tells no merchant whether another's return exists."""
    try:
        ret = service.find_return(rma)
    except NotFound:
        ret = None
    if ret is None or ret.merchant_id != current_key().merchant_id:
        raise NotFound("No return of yours has this RMA.", field="rma", code="return_not_found")
    return ret


@bp.post("/returns")
@require_key("merchant")
@api_write
def create_return():
    data, problem = parse_body(ReturnIn)
    if problem:
        return problem
    try:
        parcel = find_own_parcel(data.tracking_number, merchant_id=current_key().merchant_id)
        ret = service.open_return(
            parcel,
            service.ReturnRequest(
                lines=[
                    service.LineRequest(
                        sku=i.sku, quantity=i.quantity, reason=i.reason, reason_text=i.reason_text
                    )
                    for i in data.items
                ],
                method=data.method,
                slot_id=data.slot_id,
            ),
            created_by="merchant",
        )
    except DomainError as exc:
        return from_domain(exc)
    response = jsonify(return_json(ret))
    response.headers["Location"] = f"/api/v1/returns/{ret.rma}"
    return response, 201


@bp.get("/returns/<rma>")
@require_key("merchant")
def get_return(rma: str):
    try:
        return jsonify(return_json(_own_return(rma)))
    except DomainError as exc:
        return from_domain(exc)


@bp.post("/returns/<rma>/received")
@require_key("merchant")
@api_write
def return_received(rma: str):
    try:
        ret = service.mark_received(_own_return(rma))
    except DomainError as exc:
        return from_domain(exc)
    return jsonify(return_json(ret))


@bp.post("/returns/<rma>/refunded")
@require_key("merchant")
@api_write
def return_refunded(rma: str):
    data, problem = parse_body(RefundIn)
    if problem:
        return problem
    try:
        ret = service.mark_refunded(_own_return(rma), data.amount)
    except DomainError as exc:
        return from_domain(exc)
    return jsonify(return_json(ret))


@bp.get("/returns")
@require_key("merchant")
def list_returns():
    try:
        raw = query_text("since")
    except DomainError as exc:
        return from_domain(exc)
    since = None
    if raw is not None:
        try:
            since = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
            # In UTC here: 0001-01-01T00:00+05:00 has no UTC time (an OverflowError later).
            since = since.astimezone(UTC) if since.tzinfo else None
        except (ValueError, OverflowError):
            since = None
        if since is None:
            return json_error(
                422,
                "invalid",
                "Give since= as an ISO 8601 time with a time zone, e.g. 2026-11-25T10:00:00Z.",
                "since",
            )
    rows = service.merchant_returns(current_key().merchant, since, limit=LIST_LIMIT + 1)
    more = len(rows) > LIST_LIMIT
    rows = rows[:LIST_LIMIT]
    out = ReturnListOut(
        returns=[return_json(r) for r in rows],
        next_since=rows[-1].updated_at if more else None,
    )
    return jsonify(out.model_dump(mode="json"))
