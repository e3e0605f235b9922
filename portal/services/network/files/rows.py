"""What the network's files hold once read: their kinds and columns, the checked rows, and the
errors that name a bad row's line (or GeoJSON feature) and field."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Any

from flask_babel import gettext

from portal.models import Vehicle
from portal.services.network.words import translated

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
    message: str  # English (often Words, which can translate itself)
    unit: str = "line"

    def __str__(self) -> str:
        return f"{self.unit} {self.line}: {self.field}: {self.message}"

    def translated(self) -> str:
        """The error as a page shows it, in the reader's language (the field keeps its name:
        it is the file's column)."""
        parts = {"line": self.line, "field": self.field, "message": translated(self.message)}
        if self.unit == "line":
            return gettext("line %(line)d: %(field)s: %(message)s", **parts)
        if self.unit == "feature":
            return gettext("feature %(line)d: %(field)s: %(message)s", **parts)
        return str(self)

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
