"""The network's file formats (README, "Network files"): reading zones.csv, slot_templates.csv,
pickup_points.csv and the same points as GeoJSON into checked rows, and writing them back.

Reading never touches the database beyond lookups: every bad row is collected as
`line N: field: what is wrong` (`feature N: …` for GeoJSON), so an operator fixes a whole file
in one go, and nothing is written unless the whole file is good (see services/network/imports).

The package's parts: `rows` (kinds, columns, checked rows and errors), `fields` (reading one
field), `source` (a file's text and CSV rows), `plan` (zones.csv, slot_templates.csv), `points`
(pickup points as CSV, GeoJSON or one JSON object) and `writing` (CSV and GeoJSON out).
"""

from portal.services.network.files.plan import read_slot_templates, read_zones
from portal.services.network.files.points import (
    read_geojson,
    read_pickup_points,
    read_point,
    read_points,
)
from portal.services.network.files.rows import (
    COLUMNS,
    KINDS,
    MAX_CAPACITY,
    MAX_ROWS,
    POINT_TYPES,
    WEEKDAYS,
    FileRejected,
    PointRow,
    RowError,
    TemplateRow,
    ZoneRow,
)
from portal.services.network.files.writing import weekday_code, write_csv, write_geojson

__all__ = [
    "COLUMNS",
    "KINDS",
    "MAX_CAPACITY",
    "MAX_ROWS",
    "POINT_TYPES",
    "WEEKDAYS",
    "FileRejected",
    "PointRow",
    "RowError",
    "TemplateRow",
    "ZoneRow",
    "read_geojson",
    "read_pickup_points",
    "read_point",
    "read_points",
    "read_slot_templates",
    "read_zones",
    "weekday_code",
    "write_csv",
    "write_geojson",
]
