"""Writing the network's files back: CSV with the kind's header, and points as GeoJSON."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from portal.services.network.files.rows import COLUMNS, WEEKDAYS


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
