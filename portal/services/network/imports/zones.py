"""Zones and their postcode prefixes in and out, matched by zone name and (country, prefix)."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import Zone, ZonePostcodePrefix
from portal.services.network.files import ZoneRow, weekday_code
from portal.services.network.imports.result import ImportResult, set_changed


def import_zones(rows: list[ZoneRow], *, dry_run: bool = False) -> ImportResult:
    result = ImportResult("zones", dry_run=dry_run)
    zones = {z.name: z for z in db.session.execute(select(Zone)).scalars()}
    prefixes = {
        (p.country, p.prefix): p for p in db.session.execute(select(ZonePostcodePrefix)).scalars()
    }
    touched_zones: set[str] = set()
    with db.session.no_autoflush:
        for row in rows:
            zone = zones.get(row.zone)
            zone_values = {
                "country": row.country,
                "time_zone": row.time_zone,
                "green_weekday": row.green_weekday,
                "cutoff": row.cutoff,
            }
            zone_changed = False
            if zone is None:
                zone = Zone(name=row.zone, **zone_values)
                db.session.add(zone)
                zones[row.zone] = zone
            elif row.zone not in touched_zones:
                zone_changed = set_changed(zone, zone_values)
            touched_zones.add(row.zone)
            prefix = prefixes.get((row.country, row.prefix))
            values = {"latitude": row.latitude, "longitude": row.longitude}
            if prefix is None:
                prefix = ZonePostcodePrefix(country=row.country, prefix=row.prefix, **values)
                zone.prefixes.append(prefix)
                prefixes[(row.country, row.prefix)] = prefix
                result.created += 1
            else:
                moved = prefix.zone is not zone
                if moved:
                    prefix.zone = zone
                if set_changed(prefix, values) or moved or zone_changed:
                    result.updated += 1
                else:
                    result.unchanged += 1
    db.session.flush()
    return result


def export_zones() -> list[dict]:
    rows = db.session.execute(
        select(ZonePostcodePrefix, Zone)
        .join(Zone, ZonePostcodePrefix.zone_id == Zone.id)
        .order_by(Zone.name, ZonePostcodePrefix.prefix)
    ).all()
    return [
        {
            "zone": zone.name,
            "country": zone.country,
            "time_zone": zone.time_zone,
            "postcode_prefix": prefix.prefix,
            "latitude": "" if prefix.latitude is None else prefix.latitude,
            "longitude": "" if prefix.longitude is None else prefix.longitude,
            "green_weekday": weekday_code(zone.green_weekday),
            "cutoff": zone.cutoff.strftime("%H:%M"),
        }
        for prefix, zone in rows
    ]
