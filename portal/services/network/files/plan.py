"""Reading zones.csv and slot_templates.csv: a zone's postcode prefixes, and the weekly slot
plan. Every bad row is reported; a file with any is rejected whole."""

from __future__ import annotations

import re
from datetime import time

from portal.contact import normalise_postcode
from portal.models import Vehicle
from portal.services.network.files import fields
from portal.services.network.files.rows import FileRejected, RowError, TemplateRow, ZoneRow
from portal.services.network.files.source import csv_rows, width_error
from portal.services.network.words import N_


def read_zones(data: bytes | str) -> list[ZoneRow]:
    errors: list[RowError] = []
    out: list[ZoneRow] = []
    seen: dict[tuple[str, str], int] = {}
    zone_first: dict[str, ZoneRow] = {}
    for line, values in csv_rows(data, "zones"):
        r = fields.Row(line, values, errors, "line")
        if width_error(r, "zones"):
            continue
        name = r.get("zone", fields.text, 120)
        country = r.get("country", fields.country)
        tz = r.get("time_zone", fields.time_zone)
        prefix = r.get("postcode_prefix", fields.text, 12)
        if prefix is not None:
            prefix = normalise_postcode(prefix)
            if not re.fullmatch(r"[A-Z0-9]{1,10}", prefix):
                r.fail("postcode_prefix", N_("is 1 to 10 letters and digits"))
        lat = r.get("latitude", fields.coordinate, -90, 90, required=False)
        lon = r.get("longitude", fields.coordinate, -180, 180, required=False)
        if r.ok and (lat is None) != (lon is None):
            r.fail(
                "longitude" if lon is None else "latitude", N_("give both coordinates or neither")
            )
        green = r.get("green_weekday", fields.weekday, required=False)
        cutoff = r.get("cutoff", fields.clock, default=time(18, 0))
        if not r.ok:
            continue
        key = (country, prefix)
        if key in seen:
            r.fail(
                "postcode_prefix",
                N_(
                    "%(prefix)s (%(country)s) is already on line %(line)d",
                    prefix=prefix,
                    country=country,
                    line=seen[key],
                ),
            )
            continue
        seen[key] = line
        row = ZoneRow(line, name, country, tz, prefix, lat, lon, green, cutoff)
        first = zone_first.setdefault(name, row)
        for attr in ("country", "time_zone", "green_weekday", "cutoff"):
            if getattr(first, attr) != getattr(row, attr):
                r.fail(
                    attr,
                    N_(
                        "differs from line %(line)d for zone %(zone)s",
                        line=first.line,
                        zone=repr(name),
                    ),
                )
        if r.ok:
            out.append(row)
    if errors:
        raise FileRejected(errors)
    return out


def read_slot_templates(data: bytes | str) -> list[TemplateRow]:
    errors: list[RowError] = []
    out: list[TemplateRow] = []
    seen: dict[tuple, int] = {}
    for line, values in csv_rows(data, "slots"):
        r = fields.Row(line, values, errors, "line")
        if width_error(r, "slots"):
            continue
        zone = r.get("zone", fields.text, 120)
        weekday = r.get("weekday", fields.weekday, required=True)
        start = r.get("start", fields.clock)
        end = r.get("end", fields.clock)
        vehicle = (values.get("vehicle") or "").strip()
        if vehicle not in tuple(Vehicle):
            r.fail("vehicle", N_("%(value)s is not van or cargo_bike", value=repr(vehicle)))
        capacity = r.get("capacity", fields.count, 1)
        if start is not None and end is not None and end <= start:
            r.fail(
                "end",
                N_(
                    "%(end)s is not after the start %(start)s",
                    end=f"{end:%H:%M}",
                    start=f"{start:%H:%M}",
                ),
            )
        if not r.ok:
            continue
        key = (zone, weekday, start, vehicle)
        if key in seen:
            r.fail(
                "start",
                N_("the same zone, weekday, start and vehicle as line %(line)d", line=seen[key]),
            )
            continue
        seen[key] = line
        out.append(TemplateRow(line, zone, weekday, start, end, Vehicle(vehicle), capacity))
    if errors:
        raise FileRejected(errors)
    return out
