"""Which zone a postcode belongs to."""

from __future__ import annotations

from sqlalchemy import select

from portal.contact import normalise_postcode
from portal.extensions import db
from portal.models import Zone, ZonePostcodePrefix


def zone_for_postcode(country: str, postcode: str) -> Zone | None:
    """The zone with the longest postcode prefix matching, or None."""
    code = normalise_postcode(postcode)
    if not code:
        return None
    candidates = [code[:n] for n in range(len(code), 0, -1)]
    rows = db.session.execute(
        select(ZonePostcodePrefix)
        .where(ZonePostcodePrefix.country == country.upper())
        .where(ZonePostcodePrefix.prefix.in_(candidates))
    ).scalars()
    best = max(rows, key=lambda row: len(row.prefix), default=None)
    return best.zone if best else None


def ensure_zone(
    name: str,
    country: str,
    time_zone: str,
    prefixes: list[str],
    *,
    centres: dict[str, tuple[float, float]] | None = None,
    green_weekday: int | None = None,
) -> Zone:
    """Create or update a zone, its prefixes and their centres (used by seeding; idempotent)."""
    zone = db.session.execute(select(Zone).where(Zone.name == name)).scalar_one_or_none()
    if zone is None:
        zone = Zone(name=name, country=country.upper(), time_zone=time_zone)
        db.session.add(zone)
    zone.country, zone.time_zone = country.upper(), time_zone
    if green_weekday is not None:
        zone.green_weekday = green_weekday
    have = {p.prefix: p for p in zone.prefixes}
    for prefix in prefixes:
        norm = normalise_postcode(prefix)
        row = have.get(norm)
        if row is None:
            row = ZonePostcodePrefix(country=zone.country, prefix=norm)
            zone.prefixes.append(row)
        if centres and prefix in centres:
            row.latitude, row.longitude = centres[prefix]
    db.session.flush()
    return zone
