"""From postcodes to a journey: which zones they fall in, and the route's origin area."""

from __future__ import annotations

from babel import Locale
from flask import current_app

from portal.models import Carrier, Zone
from portal.services.edd.segments import Journey, origin_area
from portal.services.errors import DomainError
from portal.services.zones import matching_prefixes

# Countries, not CLDR's placeholders ("ZZ" unknown region, "XA"/"XB" pseudo-locales).
_TERRITORIES = frozenset(
    code for code in Locale("en").territories if code.isalpha() and code not in ("ZZ", "XA", "XB")
)


def journey_between(
    carrier: Carrier, origin: str | None, destination: str, country: str | None = None
) -> tuple[Journey, Zone | None]:
    """The journey from `origin` to `destination` with `carrier`, and the destination's zone
    (in `country` when given; None outside the network, where the carrier's own figures and
    the defaults still answer, in `country` or else PHONE_REGION's working days)."""
    if country is not None and country.upper() not in _TERRITORIES:
        raise DomainError(
            f"{country!r} is not an ISO 3166 country code such as SE.",
            field="country",
            code="unknown_country",
        )
    country = country.upper() if country else None
    found = [p for p in matching_prefixes(destination) if country is None or p.country == country]
    if len({p.country for p in found}) > 1:
        raise DomainError(
            "This postcode exists in more than one country we serve: give `country` too.",
            field="country",
            code="country_required",
        )
    zone = found[0].zone if found else None
    origins = matching_prefixes(origin) if origin else []
    journey = Journey(
        carrier.id,
        origin_area(origin),
        origins[0].zone_id if origins else None,
        zone.id if zone else None,
        zone.country if zone else (country or current_app.config["PHONE_REGION"]),
    )
    return journey, zone
