"""The delivery network through the API: zones for everyone, the nearest pickup points for
checkouts, and each carrier's own points (one by one, or a GeoJSON collection at once)."""

from __future__ import annotations

import json
from typing import Any

from flask import jsonify, request, url_for

from portal.api import bp
from portal.api.auth import current_key, require_key
from portal.api.delivery import _country_for, _query_int, query_country
from portal.api.errors import from_domain, json_error
from portal.api.parsing import query_text
from portal.api.schemas import (
    ImportOut,
    NearbyOut,
    PickupPointClosedOut,
    PickupPointOut,
    ZonesOut,
)
from portal.api.writes import api_write
from portal.contact import normalise_postcode, valid_postcode
from portal.models import PickupPoint
from portal.models.types import utcnow
from portal.services.errors import DomainError, NotFound
from portal.services.network import carrier_points, directory, nearest
from portal.services.network.files import weekday_code

DEFAULT_LIMIT = 10


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _whole_number(text: str) -> int | float:
    # A number of hundreds of digits reads as a float (infinity), which every range check
    # refuses; as an int it would overflow float() deep inside the readers.
    return int(text) if len(text) <= 300 else float(text)


def _json_body() -> tuple[Any, Any]:
    """(the parsed body, None), or (None, the 400 answer). NaN and Infinity are no JSON, and
    a lone surrogate escape ("\\ud800") is no text PostgreSQL can store."""
    try:
        body = json.loads(
            request.get_data(cache=True) or b"",
            parse_constant=_reject_constant,
            parse_int=_whole_number,
        )
        json.dumps(body, ensure_ascii=False).encode()
    except (ValueError, RecursionError):  # UnicodeError is a ValueError too
        return None, json_error(400, "invalid_json", "The body is not valid JSON.")
    return body, None


def _flag(name: str) -> bool:
    raw = query_text(name)
    if raw is None:
        return False
    raw = raw.lower()
    if raw in ("false", "0"):
        return False
    if raw in ("true", "1"):
        return True
    raise DomainError(f"`{name}` is true or false.", field=name)


def _rejected(exc: carrier_points.PointsRejected) -> tuple[dict[str, Any], int]:
    """The standard error object for a refused point or collection, and its status."""
    return (
        {"code": exc.code, "message": exc.message, "field": exc.field},
        409 if exc.kind == "conflict" else 422,
    )


# --- zones -------------------------------------------------------------------------------


@bp.get("/zones")
@require_key()
def get_zones():
    out = ZonesOut(
        zones=[
            {
                "id": z.zone.id,
                "name": z.zone.name,
                "country": z.zone.country,
                "time_zone": z.zone.time_zone,
                "green_weekday": weekday_code(z.zone.green_weekday) or None,
                "cutoff": z.zone.cutoff.strftime("%H:%M"),
                "prefixes": [
                    {"prefix": p.prefix, "latitude": p.latitude, "longitude": p.longitude}
                    for p in z.prefixes
                ],
                "closed_days": [{"date": d.day, "reason": d.reason} for d in z.closed_days],
            }
            for z in directory.zones(utcnow())
        ]
    )
    return jsonify(out.model_dump(mode="json"))


# --- nearest pickup points ---------------------------------------------------------------


@bp.get("/pickup-points")
@require_key()
def get_pickup_points():
    try:
        raw = query_text("postcode")
        country = query_country()
        if raw is None:
            raise DomainError("Give the postcode to search from.", field="postcode")
        try:
            postcode = normalise_postcode(valid_postcode(raw))
        except ValueError:
            raise DomainError(
                "A postcode has 2 to 10 letters and digits.", field="postcode"
            ) from None
        limit = _query_int("limit", 1, nearest.MAX_LIMIT) or DEFAULT_LIMIT
        country = country or _country_for(postcode)
        if country is None:
            raise NotFound(
                "No zone of ours covers this postcode.",
                field="postcode",
                code="postcode_not_served",
            )
        search = nearest.near_postcode(country, postcode, limit=limit, now=utcnow())
    except DomainError as exc:
        return from_domain(exc)
    out = NearbyOut(
        postcode=postcode,
        country=country,
        zone=search.zone.name if search.zone else None,
        centre={"latitude": search.latitude, "longitude": search.longitude},
        pickup_points=[_nearby_json(n) for n in search.points],
    )
    return jsonify(out.model_dump(mode="json"))


def _nearby_json(found: nearest.Nearby) -> dict[str, Any]:
    p, now = found.point, found.hours
    return {
        "id": p.id,
        "external_id": p.external_id,
        "carrier": p.carrier.name if p.carrier else None,
        "name": p.name,
        "type": p.type,
        "address_line": p.address_line,
        "postcode": p.postcode,
        "city": p.city,
        "country": p.country,
        "latitude": p.latitude,
        "longitude": p.longitude,
        "distance_m": found.distance_m,
        "opening_hours": p.opening_hours,
        "open_now": now.open_now if now.known else None,
        "next_opening": now.next_open,
        "closes_at": now.closes_at,
        "capacity": p.locker_capacity if p.is_locker else None,
        "free": p.lockers_free if p.is_locker else None,
    }


# --- a carrier's own points --------------------------------------------------------------


def _point_json(point: PickupPoint, result: str, reopened: bool) -> dict[str, Any]:
    return PickupPointOut(
        external_id=point.external_id,
        carrier=point.carrier.name,
        name=point.name,
        type=point.type,
        address_line=point.address_line,
        postcode=point.postcode,
        city=point.city,
        country=point.country,
        latitude=point.latitude,
        longitude=point.longitude,
        opening_hours=point.opening_hours,
        capacity=point.locker_capacity if point.is_locker else None,
        zone=point.zone.name if point.zone else None,
        closed_from=point.closed_from,
        closed_until=point.closed_until,
        closed_reason=point.closed_reason,
        result=result,
        reopened=reopened,
    ).model_dump(mode="json")


@bp.put("/pickup-points/<path:external_id>")
@require_key("carrier")
@api_write
def put_pickup_point(external_id: str):
    body, problem = _json_body()
    if problem:
        return problem
    if not isinstance(body, dict):
        return json_error(
            422, "invalid_pickup_point", "The body is a JSON object of the point's fields."
        )
    try:
        put = carrier_points.put_point(current_key().carrier, external_id, body, now=utcnow())
    except carrier_points.PointsRejected as exc:
        error, status = _rejected(exc)
        details = [{"code": exc.code, "message": e.message, "field": e.field} for e in exc.errors]
        return jsonify(error={**error, "details": details}), status
    except DomainError as exc:
        return from_domain(exc)
    status = 201 if put.result == "created" else 200
    response = jsonify(_point_json(put.point, put.result, put.reopened))
    if status == 201:
        response.headers["Location"] = url_for(".put_pickup_point", external_id=external_id)
    return response, status


@bp.delete("/pickup-points/<path:external_id>")
@require_key("carrier")
@api_write
def delete_pickup_point(external_id: str):
    try:
        done = carrier_points.withdraw_point(current_key().carrier, external_id, now=utcnow())
    except DomainError as exc:
        return from_domain(exc)
    out = PickupPointClosedOut(
        external_id=done.point.external_id,
        closed_from=done.closed_from,
        already_closed=done.already_closed,
        affected_parcels=len({a.parcel.id for a in done.affected}),
    )
    return jsonify(out.model_dump(mode="json"))


@bp.post("/pickup-points/import")
@require_key("carrier")
@api_write
def import_pickup_points():
    body, problem = _json_body()
    if problem:
        return problem
    try:
        dry_run, close_missing = _flag("dry_run"), _flag("close_missing")
    except DomainError as exc:
        return from_domain(exc)
    try:
        result = carrier_points.import_collection(
            current_key().carrier,
            body if isinstance(body, dict) else {},
            dry_run=dry_run,
            close_missing=close_missing,
            now=utcnow(),
        )
    except carrier_points.PointsRejected as exc:
        error, status = _rejected(exc)
        return jsonify(error=error, errors=[e.as_json() for e in exc.errors]), status
    except DomainError as exc:
        return from_domain(exc)
    out = ImportOut(
        dry_run=dry_run,
        **result.counts(),
        affected_parcels=len({a.parcel.id for a in result.affected}),
    )
    return jsonify(out.model_dump(mode="json"))
