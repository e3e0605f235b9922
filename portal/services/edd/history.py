"""An operator's delivery history from elsewhere, as transit observations:
`flask --app wsgi edd import-history FILE.csv`. All or nothing, like the network's files: a file
with any bad row writes nothing and every bad row is named by its line and column."""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from portal.bulk import insert_new
from portal.contact import valid_postcode
from portal.extensions import db
from portal.localtime import zone_of
from portal.models import Carrier, TransitObservation
from portal.models.types import utcnow
from portal.services.edd.segments import origin_area
from portal.services.edd.workdays import WorkCalendar, all_closed_days
from portal.services.network.files import FileRejected, RowError
from portal.services.network.files.source import decoded
from portal.services.zones import matching_prefixes

COLUMNS = ("carrier", "origin_postcode", "destination_postcode", "picked_up_at", "delivered_at")
# History from before this is no guide to today's network, and a journey longer than this is
# a lost parcel found, not a transit.
EARLIEST = date(2000, 1, 1)
MAX_JOURNEY_DAYS = 120
# Errors listed at most; the file is refused either way.
_MAX_ERRORS = 200
_CHUNK = 10_000


@dataclass
class HistoryResult:
    rows: int = 0
    added: int = 0
    already: int = 0  # imported before (the same row of the same file)
    without_zone: int = 0  # destinations outside the network: learned per carrier only


def _moment(value: str) -> datetime | date:
    value = value.strip()
    if len(value) == 10:
        return date.fromisoformat(value)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("has no time zone: add one (2026-11-03T14:05:00+01:00) or give a date")
    return moment


def _local_day(value: datetime | date, tz: str | None) -> date:
    if isinstance(value, datetime):
        return value.astimezone(zone_of(tz)).date()
    return value


def import_history(data: bytes | str) -> HistoryResult:
    """Check every row, then add them (the caller commits). FileRejected lists bad rows."""
    text = decoded(data)
    if "\x00" in text:
        raise FileRejected([RowError(1, "file", "is not a text file")])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise FileRejected([RowError(1, "file", "is empty: give the header row")]) from None
    except csv.Error as exc:
        raise FileRejected([RowError(1, "file", f"is not CSV ({exc})")]) from None
    if sorted(header) != sorted(COLUMNS):
        raise FileRejected(
            [
                RowError(
                    1,
                    "header",
                    f"the columns are {','.join(COLUMNS)} (this file has {','.join(header)})",
                )
            ]
        )
    carriers = dict(db.session.execute(select(Carrier.name, Carrier.id)).all())
    zones: dict[str, tuple[int, str, str] | None] = {}  # postcode → (zone id, country, tz)
    closed = all_closed_days()
    fallback_country = current_app.config["PHONE_REGION"]
    errors: list[RowError] = []
    rows: list[dict] = []
    seen: Counter[str] = Counter()
    result = HistoryResult()
    now = utcnow()
    today = now.date() + timedelta(days=1)  # a day's grace for zones east of UTC

    def zone_of_postcode(postcode: str) -> tuple[int, str, str] | None:
        if postcode not in zones:
            found = matching_prefixes(postcode)
            z = found[0].zone if found else None
            zones[postcode] = (z.id, z.country, z.time_zone) if z else None
        return zones[postcode]

    try:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(errors) >= _MAX_ERRORS:
                break
            if len(values) != len(header):
                errors.append(
                    RowError(line, "row", f"has {len(values)} fields, the header {len(header)}")
                )
                continue
            row = dict(zip(header, (v.strip() for v in values), strict=True))
            bad = len(errors)
            carrier_id = carriers.get(row["carrier"])
            if carrier_id is None:
                errors.append(RowError(line, "carrier", f"no carrier is called {row['carrier']!r}"))
            for name in ("origin_postcode", "destination_postcode"):
                try:
                    valid_postcode(row[name])
                except ValueError as exc:
                    errors.append(RowError(line, name, str(exc)))
            moments = {}
            for name in ("picked_up_at", "delivered_at"):
                try:
                    moments[name] = _moment(row[name])
                    day = _local_day(moments[name], None)
                except (ValueError, OverflowError) as exc:
                    why = str(exc) if "time zone" in str(exc) else "is not an ISO 8601 date or time"
                    if isinstance(exc, OverflowError):
                        why = f"is not a day from {EARLIEST} to today ({today})"
                    errors.append(RowError(line, name, why))
                    continue
                if not EARLIEST <= day <= today:
                    errors.append(
                        RowError(line, name, f"is not a day from {EARLIEST} to today ({today})")
                    )
            if len(errors) > bad:
                continue
            destination = zone_of_postcode(row["destination_postcode"])
            origin = zone_of_postcode(row["origin_postcode"])
            tz = destination[2] if destination else None
            start = _local_day(moments["picked_up_at"], tz)
            end = _local_day(moments["delivered_at"], tz)
            if end < start:
                errors.append(RowError(line, "delivered_at", "is before picked_up_at"))
                continue
            if (end - start).days > MAX_JOURNEY_DAYS:
                errors.append(
                    RowError(
                        line, "delivered_at", f"is over {MAX_JOURNEY_DAYS} days after picked_up_at"
                    )
                )
                continue
            fingerprint = "|".join(row[c] for c in COLUMNS)
            seen[fingerprint] += 1
            country = destination[1] if destination else fallback_country
            zone_id = destination[0] if destination else None
            result.without_zone += destination is None
            calendar = WorkCalendar(country, closed.get(zone_id, frozenset()))
            rows.append(
                {
                    "parcel_id": None,
                    "carrier_id": carrier_id,
                    "origin_area": origin_area(row["origin_postcode"]),
                    "origin_zone_id": origin[0] if origin else None,
                    "zone_id": zone_id,
                    "country": country,
                    "picked_up_on": start,
                    "delivered_on": end,
                    "pickup_weekday": start.weekday(),
                    "transit_days": calendar.count(start, end),
                    "source_key": hashlib.sha256(
                        f"{fingerprint}#{seen[fingerprint]}".encode()
                    ).hexdigest(),
                    "created_at": now,
                }
            )
    except csv.Error as exc:
        errors.append(RowError(reader.line_num, "file", f"is not CSV ({exc})"))
    if errors:
        raise FileRejected(errors)
    result.rows = len(rows)
    table = TransitObservation.__table__
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        result.added += len(insert_new(table, chunk, unique=["source_key"], returning=[table.c.id]))
    result.already = result.rows - result.added
    return result
