"""Delivery options for a merchant's checkout, and the carrier's manifest."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app, jsonify

from portal.api import bp
from portal.api.auth import current_key, require_key
from portal.api.errors import from_domain
from portal.api.estimates import option_prediction
from portal.api.manifest import find_zone, manifest
from portal.api.parsing import query_text
from portal.api.schemas import DeliveryChoiceIn, DeliveryOptionsOut, ManifestOut
from portal.contact import valid_postcode
from portal.models import Carrier, ChoiceType, DeliveryChoice, Parcel
from portal.services import delivery, delivery_options
from portal.services.errors import DomainError
from portal.services.parcels import carrier_named, default_carrier
from portal.services.zones import matching_prefixes, zone_for_postcode


def choice_json(choice: DeliveryChoice, tz: str | None) -> dict[str, Any]:
    slot, point = choice.slot, choice.pickup_point
    return {
        "type": str(choice.type),
        "label": delivery.describe(choice, tz),
        "co2e_grams": choice.co2e_grams,
        "slot": (
            {
                "id": slot.id,
                "date": slot.day,
                "start": slot.starts_at,
                "end": slot.ends_at,
                "zone": slot.zone.name,
            }
            if slot
            else None
        ),
        "pickup_point": (
            {"id": point.id, "name": point.name, "address": _address(point)} if point else None
        ),
        "day": choice.day,
        "place": choice.place,
        "note": choice.note if choice.type is ChoiceType.SAFE_PLACE else None,
        "neighbour_name": choice.note if choice.type is ChoiceType.NEIGHBOUR else None,
        "house_number": choice.neighbour_house,
        "made_by": choice.made_by,
        "made_at": choice.made_at,
        "superseded_at": choice.superseded_at,
    }


def _address(point) -> str:
    return f"{point.address_line}, {point.postcode} {point.city}"


def choice_request(data: DeliveryChoiceIn) -> delivery.ChoiceRequest:
    """The service's request for an API choice; DomainError for a missing or malformed id."""
    kind = ChoiceType(data.type)
    needs_id = kind in (ChoiceType.SLOT, ChoiceType.PICKUP_POINT, ChoiceType.LOCKER)
    if needs_id and not isinstance(data.id, int):
        raise DomainError(
            "Give the option's id from GET /delivery-options.", field="delivery_choice.id"
        )
    day = None
    if kind is ChoiceType.GREEN_DAY and data.id is not None:
        try:
            day = date.fromisoformat(str(data.id))
        except ValueError:
            raise DomainError(
                "A green day's id is its date, as in GET /delivery-options.",
                field="delivery_choice.id",
            ) from None
    if kind is ChoiceType.HOLD:
        day = data.until
    return delivery.ChoiceRequest(
        kind,
        slot_id=data.id if kind is ChoiceType.SLOT else None,
        pickup_point_id=data.id if kind in (ChoiceType.PICKUP_POINT, ChoiceType.LOCKER) else None,
        day=day,
        place=data.place,
        note=data.note,
        neighbour_name=data.neighbour_name,
        neighbour_house=data.house_number,
    )


def apply_choice(parcel: Parcel, data: DeliveryChoiceIn) -> None:
    """Book a checkout choice for a new parcel; a refusal names the field under delivery_choice."""
    try:
        delivery.choose(
            parcel, choice_request(data), made_by=delivery.MADE_BY_MERCHANT, confirm=False
        )
    except DomainError as exc:
        if exc.field and not exc.field.startswith("delivery_choice"):
            exc.field = f"delivery_choice.{exc.field}"
        raise


def _query_int(name: str, low: int, high: int) -> int | None:
    raw = query_text(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise DomainError(f"`{name}` is a whole number from {low} to {high}.", field=name)
    return int(raw)


@bp.get("/delivery-options")
@require_key("merchant")
def get_delivery_options():
    try:
        postcode = query_text("postcode")
        country = query_country()
        if postcode is None:
            raise DomainError("Give the delivery address's postcode.", field="postcode")
        weight = _query_int("weight", 0, 1_000_000)
        value = _query_value()
        carrier_name = query_text("carrier")
        try:
            postcode = valid_postcode(postcode, country)
        except ValueError as exc:
            message = str(exc) if country else "A postcode has 2 to 10 letters and digits."
            raise DomainError(message[:1].upper() + message[1:] + ".", field="postcode") from None
        if country is None:
            country = _country_for(postcode)
    except DomainError as exc:
        return from_domain(exc)
    zone = zone_for_postcode(country, postcode) if country else None
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    if zone is None:
        out = DeliveryOptionsOut(zone=None, options=[], co2e_method=f"{base}/about/co2")
        return jsonify(out.model_dump(mode="json"))
    try:
        predicted = option_prediction(
            current_key().merchant,
            _option_carrier(current_key().merchant, carrier_name),
            postcode,
            zone,
        )
    except DomainError as exc:
        return from_domain(exc)
    options = delivery_options.build(
        zone,
        country=country,
        postcode=postcode,
        weight_grams=weight,
        merchant=current_key().merchant,
        value=value,
        # Options with no fixed day arrive on the predicted likeliest day (the green default).
        expected=date.fromisoformat(predicted["most_likely"]) if predicted else None,
        checkout=True,
    )
    out = DeliveryOptionsOut(
        zone=zone.name,
        options=[_option_json(o, zone.name, predicted) for o in options.all()],
        co2e_method=f"{base}/about/co2",
    )
    # Each option carries only the fields of its kind (a slot has no distance, a hold no time).
    return jsonify(out.model_dump(mode="json", exclude_unset=True))


def query_country() -> str | None:
    """`country` as an upper-case ISO 3166 code; None when left out."""
    raw = query_text("country")
    if raw is None:
        return None
    if len(raw) != 2 or not raw.isascii() or not raw.isalpha():
        raise DomainError("`country` is an ISO 3166 code such as SE.", field="country")
    return raw.upper()


def _query_value() -> Decimal | None:
    raw = query_text("value")
    if raw is None:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0:
        raise DomainError("`value` is the parcel's value, a number like 249.90.", field="value")
    return value


def _country_for(postcode: str) -> str | None:
    """The country when `country` is left out: the one whose zones know this postcode (None:
    no zone does); a postcode known in two countries needs `country`."""
    countries = {row.country for row in matching_prefixes(postcode)}
    if len(countries) > 1:
        raise DomainError(
            "This postcode exists in more than one country we serve: give `country` too.",
            field="country",
            code="country_required",
        )
    return countries.pop() if countries else None


def _option_carrier(merchant, name: str | None) -> Carrier | None:
    """`carrier` as asked, else the merchant's only carrier; None when it ships with several
    and didn't say (the options then carry no prediction)."""
    if name:
        return carrier_named(name)
    try:
        return default_carrier(merchant)
    except DomainError:
        return None


def _option_json(
    o: delivery_options.Option, zone_name: str, predicted: dict[str, Any] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": str(o.type),
        "id": o.id,
        "label": o.label,
        "co2e_grams": o.co2e_grams,
        "greenest": o.greenest,
        "green_default": o.green_default,
        "available": o.available,
    }
    if o.type is ChoiceType.SLOT:
        out |= {
            "date": o.date,
            "start": o.start,
            "end": o.end,
            "capacity": o.capacity,
            "remaining": o.remaining,
            "share_remaining": o.share_remaining,
            "vehicle": str(o.vehicle),
            "zone": zone_name,  # every slot offered is in the address's zone
        }
    elif o.type is ChoiceType.GREEN_DAY:
        out |= {"date": o.date, "start": o.start.astimezone(UTC), "end": o.end.astimezone(UTC)}
    elif o.point is not None:
        p = o.point
        out |= {
            "distance_m": o.distance_m,
            "name": p.name,
            "address": _address(p),
            "opening_hours": p.opening_hours,
            "latitude": p.latitude,
            "longitude": p.longitude,
        }
        if p.is_locker:
            out |= {"capacity": o.capacity, "remaining": o.remaining}
    elif o.type is ChoiceType.HOLD:
        out["latest"] = o.latest
    if predicted is not None and o.type not in _FIXED_DAY:
        out["predicted_delivery"] = predicted
    return out


# Options that name their day themselves: a prediction would only contradict them.
_FIXED_DAY = frozenset({ChoiceType.SLOT, ChoiceType.GREEN_DAY, ChoiceType.HOLD})


CSV_COLUMNS = (
    "tracking_number",
    "status",
    "recipient_name",
    "phone",
    "address_line",
    "postcode",
    "city",
    "weight_grams",
    "window_start",
    "window_end",
    "choice",
    "vehicle",
    "pickup_point",
    "instructions",
)


# Days a route plan can be about; outside them a local midnight may not even exist in UTC.
MANIFEST_FIRST_DAY, MANIFEST_LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)


@bp.get("/manifest")
@require_key("carrier")
def get_manifest():
    try:
        raw_day, zone_ref = query_text("date") or "", query_text("zone") or ""
        fmt = query_text("format") or "json"
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            raise DomainError("Give the day as date=YYYY-MM-DD.", field="date") from None
        if not MANIFEST_FIRST_DAY <= day <= MANIFEST_LAST_DAY:
            raise DomainError(
                f"Give a day from {MANIFEST_FIRST_DAY} to {MANIFEST_LAST_DAY}.", field="date"
            )
        if not zone_ref:
            raise DomainError("Give the zone's id or name as zone=.", field="zone")
        if fmt not in ("json", "csv"):
            raise DomainError("format is json or csv.", field="format")
        zone = find_zone(zone_ref)
    except DomainError as exc:
        return from_domain(exc)
    stops = [_stop_json(s) for s in manifest(current_key().carrier, zone, day)]
    if fmt == "csv":
        return _csv(stops, f"manifest-{zone.id}-{day.isoformat()}.csv")
    out = ManifestOut(date=day, zone=zone.name, stops=stops)
    return jsonify(out.model_dump(mode="json"))


def _stop_json(stop) -> dict[str, Any]:
    p, c = stop.parcel, stop.choice
    vehicle = c.slot.vehicle if c is not None and c.slot is not None else None
    instructions = None
    if c is not None and c.type is not ChoiceType.SLOT:
        instructions = delivery.describe(c, p.time_zone)
    return {
        "tracking_number": p.tracking_number,
        "status": p.status,
        "recipient_name": p.recipient_name,
        "phone": p.recipient_phone,
        "address_line": p.address_line,
        "postcode": p.postcode,
        "city": p.city,
        "weight_grams": p.weight_grams,
        "window_start": p.eta_from,
        "window_end": p.eta_to,
        "choice": str(c.type) if c is not None else None,
        "vehicle": str(vehicle) if vehicle else None,
        "pickup_point": (
            f"{c.pickup_point.name}, {_address(c.pickup_point)}"
            if c is not None and c.pickup_point
            else None
        ),
        "instructions": instructions,
    }


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet won't run as a formula (a note can be "=HYPERLINK(…)"); phone
    numbers such as +46701234567 are no formula and stay as they are."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not re.fullmatch(r"\+?[0-9 ]+", text):
        return "'" + text
    return text


def _csv(stops: list[dict[str, Any]], filename: str):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for stop in stops:
        writer.writerow([_cell(stop[c]) for c in CSV_COLUMNS])
    response = current_app.response_class(buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
