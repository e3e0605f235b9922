"""The network's file formats (README, "Network files"): reading zones.csv, slot_templates.csv,
pickup_points.csv and the same points as GeoJSON into checked rows, and writing them back.

Reading never touches the database beyond lookups: every bad row is collected as
`line N: field: what is wrong` (`feature N: …` for GeoJSON), so an operator fixes a whole file
in one go, and nothing is written unless the whole file is good (see services/network/imports).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from portal.contact import normalise_postcode
from portal.models import Vehicle
from portal.services.network import hours

KINDS = ("zones", "slots", "pickup-points")
COLUMNS: dict[str, tuple[str, ...]] = {
    "zones": (
        "zone",
        "country",
        "time_zone",
        "postcode_prefix",
        "latitude",
        "longitude",
        "green_weekday",
        "cutoff",
    ),
    "slots": ("zone", "weekday", "start", "end", "vehicle", "capacity"),
    "pickup-points": (
        "external_id",
        "carrier",
        "name",
        "type",
        "address_line",
        "postcode",
        "city",
        "country",
        "latitude",
        "longitude",
        "opening_hours",
        "capacity",
    ),
}
WEEKDAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
POINT_TYPES = ("pickup_point", "locker")
MAX_CAPACITY = 100_000
MAX_ROWS = 50_000


@dataclass(frozen=True)
class RowError:
    line: int  # the file's line (the header is line 1), or the GeoJSON feature's number
    field: str
    message: str
    unit: str = "line"

    def __str__(self) -> str:
        return f"{self.unit} {self.line}: {self.field}: {self.message}"

    def as_json(self) -> dict[str, Any]:
        return {self.unit: self.line, "field": self.field, "message": self.message}


class FileRejected(Exception):
    """The file has bad rows (or is no such file at all); nothing was written."""

    def __init__(self, errors: list[RowError]):
        super().__init__("; ".join(str(e) for e in errors[:5]))
        self.errors = errors


@dataclass
class ZoneRow:
    line: int
    zone: str
    country: str
    time_zone: str
    prefix: str
    latitude: float | None
    longitude: float | None
    green_weekday: int | None
    cutoff: time


@dataclass
class TemplateRow:
    line: int
    zone: str
    weekday: int
    start: time
    end: time
    vehicle: Vehicle
    capacity: int


@dataclass
class PointRow:
    line: int
    external_id: str
    carrier: str
    name: str
    type: str
    address_line: str
    postcode: str
    city: str
    country: str
    latitude: float
    longitude: float
    opening_hours: str
    capacity: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_locker(self) -> bool:
        return self.type == "locker"


# --- reading fields ------------------------------------------------------------------------


class _Bad(ValueError):
    pass


def _text(value: str, limit: int, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise _Bad("is required")
    if len(value) > limit:
        raise _Bad(f"is longer than {limit} characters")
    if any(ord(c) < 32 for c in value):
        raise _Bad("has control characters")
    if not _encodes(value):
        # A lone surrogate ("\ud800" in JSON) reads fine here and fails the database's encoding.
        raise _Bad("is not valid text")
    return value


def _encodes(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _named(names) -> str:
    """Names from a file for a message, with any lone surrogate written as an escape."""
    return ", ".join(n if _encodes(n) else ascii(n) for n in sorted(names))


def _country(value: str) -> str:
    value = (value or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise _Bad("is a two-letter country code (SE, NO, FI …)")
    return value


_ZONES = available_timezones()


def _time_zone(value: str) -> str:
    value = (value or "").strip()
    if value not in _ZONES:
        raise _Bad(f"{value!r} is not a time zone name (like Europe/Stockholm)")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Bad(f"{value!r} is not a time zone name (like Europe/Stockholm)") from None
    return value


def _coordinate(value: str | float | None, low: float, high: float, *, required: bool) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _Bad("is required")
        return None  # type: ignore[return-value]
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise _Bad(f"{value!r} is not a number") from None
    if number != number or not low <= number <= high:  # NaN or out of range
        raise _Bad(f"{value} is out of range ({low:g} to {high:g})")
    return number


def _weekday(value: str, *, required: bool) -> int | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise _Bad("is required (Mo, Tu, We, Th, Fr, Sa or Su)")
        return None
    if value.capitalize() not in WEEKDAYS:
        raise _Bad(f"{value!r} is not one of Mo, Tu, We, Th, Fr, Sa, Su")
    return WEEKDAYS.index(value.capitalize())


def _clock(value: str, *, default: time | None = None) -> time:
    value = (value or "").strip()
    if not value and default is not None:
        return default
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value)
    if not match:
        raise _Bad(f"{value!r} is not a time as HH:MM")
    return time(int(match[1]), int(match[2]))


def _count(value: str | int | None, low: int, *, required: bool = True) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _Bad("is required")
        return 0
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()):
        raise _Bad(f"{value!r} is not a whole number")
    number = int(text)
    if not low <= number <= MAX_CAPACITY:
        raise _Bad(f"{number} is out of range ({low} to {MAX_CAPACITY})")
    return number


class _Row:
    """One row's fields, read one by one; each bad field adds an error and reads as None."""

    def __init__(self, line: int, values: dict[str, Any], errors: list[RowError], unit: str):
        self.line, self.values, self.errors, self.unit = line, values, errors, unit
        self.ok = True

    def get(self, name: str, reader, *args, **kwargs):
        try:
            return reader(self.values.get(name), *args, **kwargs)
        except _Bad as exc:
            self.fail(name, str(exc))
            return None

    def fail(self, name: str, message: str) -> None:
        self.ok = False
        self.errors.append(RowError(self.line, name, message, self.unit))


# --- reading files -------------------------------------------------------------------------


def _decoded(data: bytes | str, unit: str = "line") -> str:
    """The file's text, strictly UTF-8 (a byte-order mark dropped)."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FileRejected(
                [RowError(1, "file", f"is not UTF-8 (byte {exc.start} is not valid)", unit)]
            ) from None
    return data.removeprefix("\ufeff")


def _csv_rows(data: bytes | str, kind: str) -> list[tuple[int, dict[str, str]]]:
    """(line, values) per data row; FileRejected for a file that isn't this kind's CSV."""
    data = _decoded(data)
    if "\x00" in data:
        raise FileRejected([RowError(1, "file", "is not a text file")])
    reader = csv.reader(io.StringIO(data, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise FileRejected([RowError(1, "file", "is empty: give the header row")]) from None
    except csv.Error as exc:
        raise FileRejected([RowError(1, "file", f"is not CSV ({exc})")]) from None
    header = [h.strip() for h in header]
    wanted = COLUMNS[kind]
    missing = [c for c in wanted if c not in header]
    unknown = [c for c in header if c not in wanted]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown {', '.join(repr(c) for c in unknown)}")
        raise FileRejected(
            [RowError(1, "header", f"{'; '.join(problems)} (the columns are {','.join(wanted)})")]
        )
    rows = []
    try:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue  # blank lines are no rows
            if len(values) != len(header):
                rows.append((line, {"__width__": str(len(values))}))
                continue
            rows.append((line, dict(zip(header, values, strict=True))))
            if len(rows) > MAX_ROWS:
                raise FileRejected([RowError(line, "file", f"has more than {MAX_ROWS} rows")])
    except csv.Error as exc:
        raise FileRejected([RowError(reader.line_num, "file", f"is not CSV ({exc})")]) from None
    return rows


def _width_error(row: _Row, kind: str) -> bool:
    if "__width__" in row.values:
        row.fail("row", f"has {row.values['__width__']} fields, the header {len(COLUMNS[kind])}")
        return True
    return False


def read_zones(data: bytes | str) -> list[ZoneRow]:
    errors: list[RowError] = []
    out: list[ZoneRow] = []
    seen: dict[tuple[str, str], int] = {}
    zone_first: dict[str, ZoneRow] = {}
    for line, values in _csv_rows(data, "zones"):
        r = _Row(line, values, errors, "line")
        if _width_error(r, "zones"):
            continue
        name = r.get("zone", _text, 120)
        country = r.get("country", _country)
        tz = r.get("time_zone", _time_zone)
        prefix = r.get("postcode_prefix", _text, 12)
        if prefix is not None:
            prefix = normalise_postcode(prefix)
            if not re.fullmatch(r"[A-Z0-9]{1,10}", prefix):
                r.fail("postcode_prefix", "is 1 to 10 letters and digits")
        lat = r.get("latitude", _coordinate, -90, 90, required=False)
        lon = r.get("longitude", _coordinate, -180, 180, required=False)
        if r.ok and (lat is None) != (lon is None):
            r.fail("longitude" if lon is None else "latitude", "give both coordinates or neither")
        green = r.get("green_weekday", _weekday, required=False)
        cutoff = r.get("cutoff", _clock, default=time(18, 0))
        if not r.ok:
            continue
        key = (country, prefix)
        if key in seen:
            r.fail("postcode_prefix", f"{prefix} ({country}) is already on line {seen[key]}")
            continue
        seen[key] = line
        row = ZoneRow(line, name, country, tz, prefix, lat, lon, green, cutoff)
        first = zone_first.setdefault(name, row)
        for attr in ("country", "time_zone", "green_weekday", "cutoff"):
            if getattr(first, attr) != getattr(row, attr):
                r.fail(attr, f"differs from line {first.line} for zone {name!r}")
        if r.ok:
            out.append(row)
    if errors:
        raise FileRejected(errors)
    return out


def read_slot_templates(data: bytes | str) -> list[TemplateRow]:
    errors: list[RowError] = []
    out: list[TemplateRow] = []
    seen: dict[tuple, int] = {}
    for line, values in _csv_rows(data, "slots"):
        r = _Row(line, values, errors, "line")
        if _width_error(r, "slots"):
            continue
        zone = r.get("zone", _text, 120)
        weekday = r.get("weekday", _weekday, required=True)
        start = r.get("start", _clock)
        end = r.get("end", _clock)
        vehicle = (values.get("vehicle") or "").strip()
        if vehicle not in tuple(Vehicle):
            r.fail("vehicle", f"{vehicle!r} is not van or cargo_bike")
        capacity = r.get("capacity", _count, 1)
        if start is not None and end is not None and end <= start:
            r.fail("end", f"{end:%H:%M} is not after the start {start:%H:%M}")
        if not r.ok:
            continue
        key = (zone, weekday, start, vehicle)
        if key in seen:
            r.fail("start", f"the same zone, weekday, start and vehicle as line {seen[key]}")
            continue
        seen[key] = line
        out.append(TemplateRow(line, zone, weekday, start, end, Vehicle(vehicle), capacity))
    if errors:
        raise FileRejected(errors)
    return out


def _point(r: _Row) -> PointRow | None:
    external_id = r.get("external_id", _text, 64)
    carrier = r.get("carrier", _text, 120)
    name = r.get("name", _text, 120)
    kind = (str(r.values.get("type") or "")).strip()
    if kind not in POINT_TYPES:
        r.fail("type", f"{kind!r} is not pickup_point or locker")
    address = r.get("address_line", _text, 300)
    postcode = r.get("postcode", _text, 16)
    if postcode is not None and not re.fullmatch(r"[A-Z0-9]{2,10}", normalise_postcode(postcode)):
        r.fail("postcode", "is 2 to 10 letters and digits")
    city = r.get("city", _text, 120)
    country = r.get("country", _country)
    lat = r.get("latitude", _coordinate, -90, 90, required=True)
    lon = r.get("longitude", _coordinate, -180, 180, required=True)
    opening = r.get("opening_hours", _text, 300)
    if opening is not None and (why := hours.problem(opening)):
        r.fail("opening_hours", f"{opening!r} {why}")
    capacity = r.get("capacity", _count, 0, required=kind == "locker")
    if kind == "locker" and capacity == 0:
        r.fail("capacity", "a locker has at least 1 compartment")
    if kind == "pickup_point" and capacity:
        r.fail("capacity", "is for lockers only: leave it empty for a pickup point")
    if not r.ok:
        return None
    return PointRow(
        r.line,
        external_id,
        carrier,
        name,
        kind,
        address,
        postcode,
        city,
        country,
        lat,
        lon,
        opening,
        capacity or 0,
    )


def _unique_points(rows: list[PointRow], errors: list[RowError], unit: str) -> list[PointRow]:
    seen: dict[tuple[str, str], int] = {}
    out = []
    for row in rows:
        key = (row.carrier, row.external_id)
        if key in seen:
            errors.append(
                RowError(
                    row.line,
                    "external_id",
                    f"{row.external_id!r} of {row.carrier} is already on {unit} {seen[key]}",
                    unit,
                )
            )
            continue
        seen[key] = row.line
        out.append(row)
    return out


def read_pickup_points(data: bytes | str) -> list[PointRow]:
    errors: list[RowError] = []
    rows = []
    for line, values in _csv_rows(data, "pickup-points"):
        r = _Row(line, values, errors, "line")
        if _width_error(r, "pickup-points"):
            continue
        row = _point(r)
        if row is not None:
            rows.append(row)
    rows = _unique_points(rows, errors, "line")
    if errors:
        raise FileRejected(sorted(errors, key=lambda e: e.line))
    return rows


def read_geojson(data: bytes | str | dict, *, carrier: str | None = None) -> list[PointRow]:
    """A GeoJSON FeatureCollection of Point features whose properties are pickup_points.csv's
    columns less latitude/longitude (from the coordinates). `carrier`: the API caller's name,
    filled in where a feature leaves it out. Features are numbered from 1."""
    if not isinstance(data, dict):
        try:
            data = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise FileRejected([RowError(1, "file", f"is not JSON ({exc})", "feature")]) from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise FileRejected([RowError(0, "type", "the document is a FeatureCollection", "feature")])
    features = data.get("features")
    if not isinstance(features, list):
        raise FileRejected([RowError(0, "features", "is a list of Point features", "feature")])
    if len(features) > MAX_ROWS:
        raise FileRejected([RowError(0, "features", f"more than {MAX_ROWS}", "feature")])
    errors: list[RowError] = []
    rows = []
    for n, feature in enumerate(features, start=1):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            errors.append(RowError(n, "type", "is a Feature", "feature"))
            continue
        coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if not isinstance(geometry, dict) or geometry.get("type") != "Point":
            errors.append(RowError(n, "geometry", "is a Point", "feature"))
            continue
        if not (
            isinstance(coords, list)
            and len(coords) in (2, 3)
            and all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords)
        ):
            errors.append(
                RowError(n, "geometry.coordinates", "is [longitude, latitude]", "feature")
            )
            continue
        if not isinstance(props, dict):
            errors.append(RowError(n, "properties", "is an object", "feature"))
            continue
        values = {k: ("" if v is None else v) for k, v in props.items()}
        unknown = set(values) - set(COLUMNS["pickup-points"])
        if unknown:
            errors.append(RowError(n, "properties", f"unknown {_named(unknown)}", "feature"))
            continue
        bad = sorted(
            k
            for k, v in values.items()
            if isinstance(v, bool) or not isinstance(v, str | int | float)
        )
        if bad:
            errors.append(RowError(n, bad[0], "is text or a number", "feature"))
            continue
        for k, v in values.items():
            if k != "capacity" and not isinstance(v, str):
                values[k] = str(v)
        if carrier is not None:
            values.setdefault("carrier", carrier)
            values["carrier"] = values["carrier"] or carrier
        values["longitude"], values["latitude"] = coords[0], coords[1]
        row = _point(_Row(n, values, errors, "feature"))
        if row is not None:
            rows.append(row)
    rows = _unique_points(rows, errors, "feature")
    if errors:
        raise FileRejected(sorted(errors, key=lambda e: e.line))
    return rows


def read_point(values: dict[str, Any]) -> PointRow:
    """One point from a JSON object with pickup_points.csv's columns (the API's PUT), checked
    by the same rules as a file row. Numbers are taken for numbers and text for text; objects,
    lists and booleans are refused. FileRejected lists every bad field (unit "field")."""
    errors: list[RowError] = []
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if name not in COLUMNS["pickup-points"]:
            errors.append(RowError(1, _named([name]), "is not a pickup point field", "field"))
        elif value is None:
            clean[name] = ""
        elif isinstance(value, bool) or not isinstance(value, str | int | float):
            errors.append(RowError(1, name, "is text or a number", "field"))
        elif isinstance(value, float) and name in ("latitude", "longitude", "capacity"):
            clean[name] = value
        else:
            # Whole numbers as text too: float() of a 400-digit int overflows, of its text not.
            clean[name] = str(value)
    row = _point(_Row(1, clean, errors, "field"))
    if errors:
        raise FileRejected(errors)
    return row


def read_points(data: bytes | str, filename: str = "", *, carrier: str | None = None):
    """CSV or GeoJSON, by the name's ending or else by the first character."""
    name = filename.lower()
    geojson = name.endswith((".geojson", ".json"))
    if not geojson and not name.endswith(".csv"):
        # No telling name: JSON when it starts like JSON (a file that isn't UTF-8 is refused).
        geojson = _decoded(data).lstrip().startswith("{")
    if geojson:
        # Strictly, as CSV: replacing bad bytes would import a Latin-1 "Malmö" as "Malm\ufffd".
        return read_geojson(_decoded(data, "feature"), carrier=carrier)
    return read_pickup_points(data)


# --- writing -------------------------------------------------------------------------------


def write_csv(kind: str, rows: list[dict[str, Any]]) -> str:
    """The kind's CSV with its header. Cells are written as they are (no formula guard): these
    files are read back by import, which must get exactly what it wrote."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS[kind], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_geojson(rows: list[dict[str, Any]]) -> str:
    features = []
    for row in rows:
        props = {k: v for k, v in row.items() if k not in ("latitude", "longitude")}
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [row["longitude"], row["latitude"]]},
                "properties": props,
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)


def weekday_code(weekday: int | None) -> str:
    return "" if weekday is None else WEEKDAYS[weekday]
