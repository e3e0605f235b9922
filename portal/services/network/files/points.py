"""Reading pickup points and lockers: pickup_points.csv, the same points as GeoJSON, or one
point as a JSON object (the API's PUT), all checked by the same rules."""

from __future__ import annotations

import json
import re
from typing import Any

from portal.contact import POSTCODE_MAX, NotAPostcode, normalise_postcode, valid_postcode
from portal.services.network import hours
from portal.services.network.files import fields
from portal.services.network.files.rows import (
    COLUMNS,
    MAX_ROWS,
    POINT_TYPES,
    FileRejected,
    PointRow,
    RowError,
)
from portal.services.network.files.source import csv_rows, decoded, width_error
from portal.services.network.words import N_

# How a message names the unit a duplicate was first on ("line 4", "feature 2").
UNIT_WORDS = {"line": N_("line"), "feature": N_("feature")}


def _postcode_problem(exc: NotAPostcode) -> str:
    if exc.form is None:  # as stored it would be over POSTCODE_MAX (NFKC widened it)
        return N_("is longer than %(limit)d characters", limit=POSTCODE_MAX)
    country, digits, example = exc.form
    return N_(
        "is not a postcode of %(country)s: %(digits)d digits, like %(example)s",
        country=country,
        digits=digits,
        example=example,
    )


def _point(r: fields.Row) -> PointRow | None:
    external_id = r.get("external_id", fields.text, 64)
    carrier = r.get("carrier", fields.text, 120)
    name = r.get("name", fields.text, 120)
    kind = (str(r.values.get("type") or "")).strip()
    if kind not in POINT_TYPES:
        r.fail("type", N_("%(value)s is not pickup_point or locker", value=repr(kind)))
    address = r.get("address_line", fields.text, 300)
    postcode = r.get("postcode", fields.text, 16)
    if postcode is not None and not re.fullmatch(r"[A-Z0-9]{2,10}", normalise_postcode(postcode)):
        r.fail("postcode", N_("is 2 to 10 letters and digits"))
    city = r.get("city", fields.text, 120)
    country = r.get("country", fields.country)
    if postcode is not None and country is not None and r.ok:
        # As the country's post writes it (113 48, 0150, 2100, 00100), as parcels store theirs.
        try:
            postcode = valid_postcode(postcode, country)
        except NotAPostcode as exc:
            r.fail("postcode", _postcode_problem(exc))
    lat = r.get("latitude", fields.coordinate, -90, 90, required=True)
    lon = r.get("longitude", fields.coordinate, -180, 180, required=True)
    opening = r.get("opening_hours", fields.text, 300)
    if opening is not None and (why := hours.problem(opening)):
        r.fail("opening_hours", N_("%(value)s %(problem)s", value=repr(opening), problem=why))
    capacity = r.get("capacity", fields.count, 0, required=kind == "locker")
    if kind == "locker" and capacity == 0:
        r.fail("capacity", N_("a locker has at least 1 compartment"))
    if kind == "pickup_point" and capacity:
        r.fail("capacity", N_("is for lockers only: leave it empty for a pickup point"))
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
                    N_(
                        "%(id)s of %(carrier)s is already on %(unit)s %(line)d",
                        id=repr(row.external_id),
                        carrier=row.carrier,
                        unit=UNIT_WORDS.get(unit, unit),
                        line=seen[key],
                    ),
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
    for line, values in csv_rows(data, "pickup-points"):
        r = fields.Row(line, values, errors, "line")
        if width_error(r, "pickup-points"):
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
            raise FileRejected(
                [RowError(1, "file", N_("is not JSON (%(problem)s)", problem=str(exc)), "feature")]
            ) from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise FileRejected(
            [RowError(0, "type", N_("the document is a FeatureCollection"), "feature")]
        )
    features = data.get("features")
    if not isinstance(features, list):
        raise FileRejected([RowError(0, "features", N_("is a list of Point features"), "feature")])
    if len(features) > MAX_ROWS:
        raise FileRejected(
            [RowError(0, "features", N_("more than %(num)d", num=MAX_ROWS), "feature")]
        )
    errors: list[RowError] = []
    rows = []
    for n, feature in enumerate(features, start=1):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            errors.append(RowError(n, "type", N_("is a Feature"), "feature"))
            continue
        coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if not isinstance(geometry, dict) or geometry.get("type") != "Point":
            errors.append(RowError(n, "geometry", N_("is a Point"), "feature"))
            continue
        if not (
            isinstance(coords, list)
            and len(coords) in (2, 3)
            and all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords)
        ):
            errors.append(
                RowError(n, "geometry.coordinates", N_("is [longitude, latitude]"), "feature")
            )
            continue
        if not isinstance(props, dict):
            errors.append(RowError(n, "properties", N_("is an object"), "feature"))
            continue
        values = {k: ("" if v is None else v) for k, v in props.items()}
        unknown = set(values) - set(COLUMNS["pickup-points"])
        if unknown:
            errors.append(
                RowError(
                    n, "properties", N_("unknown %(names)s", names=fields.named(unknown)), "feature"
                )
            )
            continue
        bad = sorted(
            k
            for k, v in values.items()
            if isinstance(v, bool) or not isinstance(v, str | int | float)
        )
        if bad:
            errors.append(RowError(n, bad[0], N_("is text or a number"), "feature"))
            continue
        for k, v in values.items():
            if k != "capacity" and not isinstance(v, str):
                values[k] = str(v)
        if carrier is not None:
            values.setdefault("carrier", carrier)
            values["carrier"] = values["carrier"] or carrier
        values["longitude"], values["latitude"] = coords[0], coords[1]
        row = _point(fields.Row(n, values, errors, "feature"))
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
            errors.append(
                RowError(1, fields.named([name]), N_("is not a pickup point field"), "field")
            )
        elif value is None:
            clean[name] = ""
        elif isinstance(value, bool) or not isinstance(value, str | int | float):
            errors.append(RowError(1, name, N_("is text or a number"), "field"))
        elif isinstance(value, float) and name in ("latitude", "longitude", "capacity"):
            clean[name] = value
        else:
            # Whole numbers as text too: float() of a 400-digit int overflows, of its text not.
            clean[name] = str(value)
    row = _point(fields.Row(1, clean, errors, "field"))
    if errors:
        raise FileRejected(errors)
    return row


def read_points(data: bytes | str, filename: str = "", *, carrier: str | None = None):
    """CSV or GeoJSON, by the name's ending or else by the first character."""
    name = filename.lower()
    geojson = name.endswith((".geojson", ".json"))
    if not geojson and not name.endswith(".csv"):
        # No telling name: JSON when it starts like JSON (a file that isn't UTF-8 is refused).
        geojson = decoded(data).lstrip().startswith("{")
    if geojson:
        # Strictly, as CSV: replacing bad bytes would import a Latin-1 "Malmö" as "Malm\ufffd".
        return read_geojson(decoded(data, "feature"), carrier=carrier)
    return read_pickup_points(data)
