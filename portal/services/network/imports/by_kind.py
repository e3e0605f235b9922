"""One file by its kind (zones, slots, pickup-points): read and import it, or export it as CSV
or GeoJSON. The CLI, the console and the bench all come here."""

from __future__ import annotations

from collections import defaultdict

from portal.services.delivery import describe
from portal.services.network import closures
from portal.services.network.files import (
    read_points,
    read_slot_templates,
    read_zones,
    write_csv,
    write_geojson,
)
from portal.services.network.imports.points import export_pickup_points, import_pickup_points
from portal.services.network.imports.result import ImportResult
from portal.services.network.imports.slots import export_slot_templates, import_slot_templates
from portal.services.network.imports.zones import export_zones, import_zones

EXPORTERS = {
    "zones": export_zones,
    "slots": export_slot_templates,
    "pickup-points": export_pickup_points,
}


def export(kind: str, fmt: str = "csv") -> str:
    rows = EXPORTERS[kind]()
    if fmt == "geojson":
        return write_geojson(rows)
    return write_csv(kind, rows)


def import_file(
    kind: str,
    data: bytes,
    filename: str = "",
    *,
    dry_run: bool = False,
    close_missing: bool = False,
) -> ImportResult:
    """Read and import one file of `kind` (the CLI, the console and the bench all come here);
    FileRejected when any row is bad. `close_missing` is for pickup points only."""
    if kind == "zones":
        return import_zones(read_zones(data), dry_run=dry_run)
    if kind == "slots":
        return import_slot_templates(read_slot_templates(data), dry_run=dry_run)
    if kind == "pickup-points":
        return import_pickup_points(
            read_points(data, filename), dry_run=dry_run, close_missing=close_missing
        )
    raise ValueError(f"unknown kind {kind!r}")


def group_affected(affected: list[closures.Affected]) -> dict[str, list[str]]:
    """Tracking numbers by what they were booked on, for a preview."""
    out: dict[str, list[str]] = defaultdict(list)
    for a in affected:
        out[describe(a.choice, a.parcel.time_zone)].append(a.tracking_number)
    return dict(out)
