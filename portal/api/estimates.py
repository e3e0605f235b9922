"""Predicted delivery before anything ships (issue 18): POST /delivery-estimates, for the
merchant's product page and checkout, and the prediction on delivery options with no fixed day."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import jsonify

from portal.api import bp
from portal.api.auth import require_key
from portal.api.errors import from_domain
from portal.api.parsing import parse_body
from portal.api.schemas import DeliveryEstimateIn, DeliveryEstimateOut
from portal.contact import postcode_in
from portal.localtime import zone_of
from portal.models import Carrier, Merchant, Zone
from portal.services.edd import journey_between, predict_before_shipping
from portal.services.errors import DomainError
from portal.services.parcels import carrier_named

# How far ahead a merchant may ask about: further, no fit says anything useful.
SHIP_DAYS_AHEAD = 90


def option_prediction(
    merchant: Merchant, carrier: Carrier | None, destination: str, zone: Zone
) -> dict[str, Any] | None:
    """delivery-options: the prediction for an option with no fixed day, shipping on the next
    working day from the merchant's return address; None when the carrier isn't known."""
    if carrier is None:
        return None
    journey, _ = journey_between(
        carrier, postcode_in(merchant.return_address), destination, zone.country
    )
    today = datetime.now(zone_of(zone.time_zone)).date()
    return predict_before_shipping(journey, None, today).as_json()


@bp.post("/delivery-estimates")
@require_key("merchant")
def create_delivery_estimate():
    data, problem = parse_body(DeliveryEstimateIn)
    if problem:
        return problem
    try:
        carrier = carrier_named(data.carrier)
        country = data.country.upper() if data.country else None
        journey, zone = journey_between(
            carrier, data.origin_postcode, data.destination_postcode, country
        )
        today = datetime.now(zone_of(zone.time_zone if zone else None)).date()
        if data.ship_date is not None and not (
            today <= data.ship_date <= today + timedelta(days=SHIP_DAYS_AHEAD)
        ):
            raise DomainError(
                f"`ship_date` is a day from today ({today}) to {SHIP_DAYS_AHEAD} days ahead.",
                field="ship_date",
                code="bad_ship_date",
            )
    except DomainError as exc:
        return from_domain(exc)
    prediction = predict_before_shipping(journey, data.ship_date, today)
    out = DeliveryEstimateOut(**prediction.as_json(), zone=zone.name if zone else None)
    # The same question gets the same answer until the next fit: shops may cache it a while.
    response = jsonify(out.model_dump(mode="json"))
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
