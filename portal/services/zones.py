"""Which zone a postcode belongs to, and where it lies: the one postcode-prefix lookup."""

from __future__ import annotations

from sqlalchemy import select

from portal.contact import normalise_postcode
from portal.extensions import db
from portal.models import Zone, ZonePostcodePrefix


def matching_prefixes(
    postcode: str, country: str | None = None, *, located: bool = False
) -> list[ZonePostcodePrefix]:
    """The postcode prefixes `postcode` starts with, longest first: in `country` (any country
    we serve when None), and only those with a known centre when `located`. The one walk from a
    postcode to the network's prefixes (zone, centre, country)."""
    code = normalise_postcode(postcode)
    if not code:
        return []
    query = select(ZonePostcodePrefix).where(
        ZonePostcodePrefix.prefix.in_([code[:n] for n in range(len(code), 0, -1)])
    )
    if country is not None:
        query = query.where(ZonePostcodePrefix.country == country.upper())
    if located:
        query = query.where(ZonePostcodePrefix.latitude.is_not(None))
    rows = db.session.execute(query).scalars()
    return sorted(rows, key=lambda row: len(row.prefix), reverse=True)


def zone_for_postcode(country: str, postcode: str) -> Zone | None:
    """The zone with the longest postcode prefix matching, or None."""
    rows = matching_prefixes(postcode, country)
    return rows[0].zone if rows else None


def postcode_centre(country: str, postcode: str) -> tuple[float, float] | None:
    """The centre of the longest known postcode prefix, or None."""
    rows = matching_prefixes(postcode, country, located=True)
    return (rows[0].latitude, rows[0].longitude) if rows else None


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
