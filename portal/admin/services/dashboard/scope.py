"""The dashboard's period and merchant (its scope), and the tables every figure is shown as."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.sql import ColumnElement, Select

from portal.models import Parcel

# A year, leap day included; longer ranges belong in a report, not a page.
MAX_DAYS = 366


@dataclass(frozen=True)
class Scope:
    """Days `since` to `until`, both included, midnight to midnight in `tz`; one merchant or all."""

    since: date
    until: date
    merchant_id: int | None = None
    tz: str = "UTC"

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time(0), ZoneInfo(self.tz))

    @property
    def end(self) -> datetime:
        return datetime.combine(self.until + timedelta(days=1), time(0), ZoneInfo(self.tz))

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def during(self, column) -> ColumnElement[bool]:
        return (column >= self.start) & (column < self.end)


def for_merchant(query: Select, scope: Scope, parcel_id=None) -> Select:
    """Only the scope's merchant's rows; `parcel_id` is the column that leads to the parcel."""
    if scope.merchant_id is None:
        return query
    if parcel_id is not None:
        query = query.join(Parcel, Parcel.id == parcel_id)
    return query.where(Parcel.merchant_id == scope.merchant_id)


# --- tables: what the page shows, the CSV downloads and the charts draw -----------------------


def N_(text: str) -> str:
    """Marks a table's words for the console's catalogue without translating them: the CSV
    keeps them in English (its columns are a contract), the page translates them as it shows
    them (portal/admin/dashboard.py)."""
    return text


@dataclass(frozen=True)
class Column:
    label: str
    # text, term (English words the page translates), label (a code: `out_for_delivery`), count
    # (whole number), percent (already × 100), number (one decimal)
    kind: str = "count"


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[tuple] = field(default_factory=list)

    @property
    def header(self) -> list[str]:
        return [c.label for c in self.columns]


def percent(part: int, whole: int) -> float | None:
    """part / whole as a percentage with one decimal; None when there is nothing to divide."""
    return round(100 * part / whole, 1) if whole else None
