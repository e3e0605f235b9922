"""The network files' readers: every bad row named as `line N: field: what is wrong`, good rows
read into typed values. No database."""

from __future__ import annotations

import json
from datetime import time

import pytest

from portal.models import Vehicle
from portal.services.network import files
from portal.services.network.hours import problem

ZONES_HEADER = "zone,country,time_zone,postcode_prefix,latitude,longitude,green_weekday,cutoff\n"
SLOTS_HEADER = "zone,weekday,start,end,vehicle,capacity\n"
POINTS_HEADER = (
    "external_id,carrier,name,type,address_line,postcode,city,country,latitude,longitude,"
    "opening_hours,capacity\n"
)
GOOD_POINT = (
    "P1,Baltic Express,Kiosk,pickup_point,Street 1,113 48,Stockholm,SE,59.34,18.05,"
    '"Mo-Fr 08:00-20:00; Sa 10:00-16:00; PH off",\n'
)


def errors_of(reader, text: str) -> list[str]:
    with pytest.raises(files.FileRejected) as caught:
        reader(text.encode())
    return [str(e) for e in caught.value.errors]


def test_zone_rows_are_read_with_defaults():
    rows = files.read_zones(
        ZONES_HEADER
        + "Inner,se,Europe/Stockholm,113 ,59.34,18.05,Th,\n"
        + "Inner,SE,Europe/Stockholm,11-4,,,Th,\n"
    )
    assert [(r.zone, r.country, r.prefix, r.green_weekday, r.cutoff) for r in rows] == [
        ("Inner", "SE", "113", 3, time(18, 0)),
        ("Inner", "SE", "114", 3, time(18, 0)),
    ]
    assert rows[1].latitude is None


def test_every_bad_zone_row_is_listed_with_its_line_and_field():
    text = (
        ZONES_HEADER
        + "Inner,SE,Europe/Stockholm,113,59.34,18.05,Th,18:00\n"
        + "Inner,SE,Mars/Olympus,114,59.34,18.05,Th,18:00\n"  # bad time zone
        + "Inner,SE,Europe/Stockholm,115,95,18.05,Th,18:00\n"  # latitude out of range
        + "Inner,SE,Europe/Stockholm,113,59.34,18.05,Th,18:00\n"  # duplicate key
        + "Outer,SE,Europe/Stockholm,116,59.3,,Xx,25:00\n"  # one coordinate, day, cutoff
        + "Inner,SE,Europe/Stockholm,117,,,Fr,18:00\n"  # differs from line 2
    )
    found = errors_of(files.read_zones, text)
    assert "line 3: time_zone: 'Mars/Olympus' is not a time zone name (like Europe/Stockholm)" in (
        found
    )
    assert "line 4: latitude: 95 is out of range (-90 to 90)" in found
    assert "line 5: postcode_prefix: 113 (SE) is already on line 2" in found
    assert any(e.startswith("line 6: green_weekday:") for e in found)
    assert any(e.startswith("line 6: cutoff:") for e in found)
    assert "line 7: green_weekday: differs from line 2 for zone 'Inner'" in found


def test_a_file_with_the_wrong_header_names_the_columns():
    found = errors_of(files.read_zones, "zone,country\nInner,SE\n")
    assert found[0].startswith("line 1: header: missing time_zone, postcode_prefix")


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "line 1: file: is empty: give the header row"),
        (b"\xff\xfe z", "line 1: file: is not UTF-8 (byte 0 is not valid)"),
    ],
)
def test_files_that_are_no_csv_are_refused(data, message):
    with pytest.raises(files.FileRejected) as caught:
        files.read_zones(data)
    assert str(caught.value.errors[0]) == message


def test_slot_template_rows_and_their_errors():
    rows = files.read_slot_templates(SLOTS_HEADER + "Inner,Mo,08:00,10:00,van,12\n")
    assert (rows[0].weekday, rows[0].start, rows[0].end, rows[0].vehicle, rows[0].capacity) == (
        0,
        time(8),
        time(10),
        Vehicle.VAN,
        12,
    )
    found = errors_of(
        files.read_slot_templates,
        SLOTS_HEADER
        + "Inner,Mo,08:00,10:00,van,12\n"
        + "Inner,Mo,08:00,09:00,van,3\n"  # same key
        + "Inner,Funday,10:00,09:00,truck,-1\n"
        + "Inner,Tu,8am,10:00,van,0\n"
        + "Inner,Tu,08:00\n",
    )
    assert found == [
        "line 3: start: the same zone, weekday, start and vehicle as line 2",
        "line 4: weekday: 'Funday' is not one of Mo, Tu, We, Th, Fr, Sa, Su",
        "line 4: vehicle: 'truck' is not van or cargo_bike",
        "line 4: capacity: '-1' is not a whole number",
        "line 4: end: 09:00 is not after the start 10:00",
        "line 5: start: '8am' is not a time as HH:MM",
        "line 5: capacity: 0 is out of range (1 to 100000)",
        "line 6: row: has 3 fields, the header 6",
    ]


def test_pickup_point_rows_check_type_capacity_and_opening_hours():
    rows = files.read_pickup_points(POINTS_HEADER + GOOD_POINT)
    assert rows[0].opening_hours == "Mo-Fr 08:00-20:00; Sa 10:00-16:00; PH off"
    assert (rows[0].type, rows[0].capacity, rows[0].latitude) == ("pickup_point", 0, 59.34)
    found = errors_of(
        files.read_pickup_points,
        POINTS_HEADER
        + GOOD_POINT
        + GOOD_POINT  # duplicate external id
        + "L1,Baltic Express,Box,locker,Street 2,113 48,Stockholm,SE,59.34,18.05,24/7,\n"
        + "L2,Baltic Express,Box,kiosk,Street 2,113 48,Stockholm,SE,59.34,190,Mon-Fri 8-20,\n"
        + "L3,Baltic Express,Kiosk,pickup_point,Street 2,?,Stockholm,SWE,x,18,24/7,4\n",
    )
    assert "line 3: external_id: 'P1' of Baltic Express is already on line 2" in found
    assert "line 4: capacity: is required" in found
    assert "line 5: type: 'kiosk' is not pickup_point or locker" in found
    assert "line 5: longitude: 190 is out of range (-180 to 180)" in found
    assert any(e.startswith("line 5: opening_hours: 'Mon-Fri 8-20' doesn't parse") for e in found)
    assert "line 6: postcode: is 2 to 10 letters and digits" in found
    assert "line 6: country: is a two-letter country code (SE, NO, FI …)" in found
    assert "line 6: latitude: 'x' is not a number" in found
    assert "line 6: capacity: is for lockers only: leave it empty for a pickup point" in found


def feature(external_id: str, lon=18.05, lat=59.34, **props) -> dict:
    properties = {
        "external_id": external_id,
        "carrier": "Baltic Express",
        "name": "Kiosk",
        "type": "pickup_point",
        "address_line": "Street 1",
        "postcode": "113 48",
        "city": "Stockholm",
        "country": "SE",
        "opening_hours": "Mo-Su 08:00-22:00",
        **props,
    }
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": properties,
    }


def test_geojson_points_take_coordinates_from_the_geometry():
    doc = {
        "type": "FeatureCollection",
        "features": [feature("A", 18.1, 59.3), feature("B", type="locker", capacity=12)],
    }
    rows = files.read_geojson(json.dumps(doc))
    assert [(r.external_id, r.longitude, r.latitude, r.capacity) for r in rows] == [
        ("A", 18.1, 59.3, 0),
        ("B", 18.05, 59.34, 12),
    ]


def test_bad_geojson_features_are_numbered():
    doc = {
        "type": "FeatureCollection",
        "features": [
            feature("A"),
            {"type": "Feature", "geometry": {"type": "LineString"}, "properties": {}},
            feature("C", opening_hours="whenever"),
            feature("D", colour="red"),
        ],
    }
    with pytest.raises(files.FileRejected) as caught:
        files.read_geojson(json.dumps(doc))
    found = [str(e) for e in caught.value.errors]
    assert found[0] == "feature 2: geometry: is a Point"
    assert found[1].startswith("feature 3: opening_hours: 'whenever' doesn't parse")
    assert found[2] == "feature 4: properties: unknown colour"
    assert caught.value.errors[0].as_json() == {
        "feature": 2,
        "field": "geometry",
        "message": "is a Point",
    }


def test_points_file_kind_follows_the_name_or_the_content():
    doc = json.dumps({"type": "FeatureCollection", "features": [feature("A")]})
    assert files.read_points(doc.encode(), "points.geojson")[0].external_id == "A"
    assert files.read_points(doc.encode(), "")[0].external_id == "A"
    assert files.read_points((POINTS_HEADER + GOOD_POINT).encode(), "p.csv")[0].name == "Kiosk"


@pytest.mark.parametrize(
    "text, ok",
    [
        ("Mo-Fr 08:00-20:00; Sa 10:00-16:00; PH off", True),
        ("24/7", True),
        ("Mo-Su 07:00-22:00", True),
        ("Mon-Fri 08-21", False),
        ("", False),
    ],
)
def test_opening_hours_are_checked_by_the_library(text, ok):
    assert (problem(text) is None) is ok


def test_geojson_properties_are_text_or_numbers_and_huge_numbers_are_refused():
    doc = {
        "type": "FeatureCollection",
        "features": [feature("A", name={"a": 1}), feature("B")],
    }
    with pytest.raises(files.FileRejected) as caught:
        files.read_geojson(json.dumps(doc))
    assert [str(e) for e in caught.value.errors] == ["feature 1: name: is text or a number"]
    huge = {"type": "FeatureCollection", "features": [feature("A", lat=10**400)]}
    with pytest.raises(files.FileRejected) as caught:
        files.read_geojson(json.dumps(huge))
    assert str(caught.value.errors[0]).startswith("feature 1: latitude: 1000")
    assert str(caught.value.errors[0]).endswith("is not a number")


def test_text_with_a_lone_surrogate_is_refused():
    # JSON can carry "\ud800"; the database can't store it.
    doc = {
        "type": "FeatureCollection",
        "features": [feature("A", name="Kiosk \ud800"), feature("B", **{"x\udc00": "y"})],
    }
    with pytest.raises(files.FileRejected) as caught:
        files.read_geojson(json.dumps(doc))
    assert [str(e) for e in caught.value.errors] == [
        "feature 1: name: is not valid text",
        "feature 2: properties: unknown 'x\\udc00'",
    ]
    with pytest.raises(files.FileRejected) as caught:
        files.read_point({"city": "Malm\udcf6", "x\ud800": 1})
    found = [str(e) for e in caught.value.errors]
    assert "field 1: city: is not valid text" in found
    assert "field 1: 'x\\ud800': is not a pickup point field" in found
    str(caught.value).encode()  # the whole message is printable


@pytest.mark.parametrize("filename", ["points.geojson", "points.json", ""])
def test_a_geojson_file_that_is_not_utf8_is_refused_as_csv_is(filename):
    doc = json.dumps(
        {"type": "FeatureCollection", "features": [feature("A", city="Malmö")]}, ensure_ascii=False
    )
    latin1 = doc.encode("latin-1")
    with pytest.raises(files.FileRejected) as caught:
        files.read_points(latin1, filename)
    unit = "line" if not filename else "feature"
    assert [str(e) for e in caught.value.errors] == [
        f"{unit} 1: file: is not UTF-8 (byte {latin1.index(b'Malm') + 4} is not valid)"
    ]
    with pytest.raises(files.FileRejected) as caught:
        files.read_points((POINTS_HEADER + GOOD_POINT.replace("Kiosk", "Malmö")).encode("latin-1"))
    assert str(caught.value.errors[0]).startswith("line 1: file: is not UTF-8")
    # With a byte-order mark, UTF-8 reads.
    assert files.read_points(b"\xef\xbb\xbf" + doc.encode(), filename)[0].city == "Malmö"
