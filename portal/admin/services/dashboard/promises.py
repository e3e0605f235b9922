"""Promise kept: of the parcels delivered in the period that had a promise (the latest predicted
day as of their pickup, services/edd), the share delivered on or before it, per carrier and
destination zone, week by week.

One aggregate over the period's deliveries (ix_parcel_delivered_at): the week is a CASE over the
week boundaries, computed here in the scope's time zone, so a week runs Monday midnight to
Monday midnight local time (summer time included) on PostgreSQL and SQLite alike. The first and
last weeks are cut to the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select

from portal.admin.services.dashboard.scope import (
    N_,
    Column,
    Scope,
    Table,
    for_merchant,
    percent,
)
from portal.extensions import db
from portal.models import Carrier, Parcel, Zone

NO_ZONE = "No zone"


def weeks(scope: Scope) -> list[date]:
    """The first day of each week (Monday, or the period's first day) in the period."""
    first = [scope.since]
    monday = scope.since + timedelta(days=7 - scope.since.weekday())
    while monday <= scope.until:
        first.append(monday)
        monday += timedelta(days=7)
    return first


@dataclass(frozen=True)
class PromiseRow:
    carrier: str
    zone: str
    week: date  # its first day in the period
    delivered: int  # delivered in that week with a promise
    kept: int

    @property
    def share(self) -> float | None:
        return percent(self.kept, self.delivered)


@dataclass
class Promises:
    rows: list[PromiseRow]

    @property
    def delivered(self) -> int:
        return sum(r.delivered for r in self.rows)

    @property
    def kept(self) -> int:
        return sum(r.kept for r in self.rows)

    @property
    def share(self) -> float | None:
        return percent(self.kept, self.delivered)

    def table(self) -> Table:
        return Table(
            "promise-kept",
            N_("Promise kept"),
            [
                Column(N_("Carrier"), "text"),
                Column(N_("Zone"), "text"),
                Column(N_("Week from"), "text"),
                Column(N_("Delivered with a promise")),
                Column(N_("Promise kept")),
                Column(N_("Share kept (%)"), "percent"),
            ],
            [
                (r.carrier, r.zone, r.week.isoformat(), r.delivered, r.kept, r.share)
                for r in self.rows
            ],
        )


def promises_kept(scope: Scope) -> Promises:
    firsts = weeks(scope)
    tz = ZoneInfo(scope.tz)
    bounds = [datetime.combine(day, time(0), tz) for day in firsts[1:]]
    # Week n: delivered before the (n+1)th boundary and not before the nth (the WHERE clause
    # holds the rest to the period).
    whens = [(Parcel.delivered_at < bound, n) for n, bound in enumerate(bounds)]
    # A period within one week: every row is week 0 (CASE needs a WHEN).
    week = case(*whens or [(Parcel.delivered_at.is_(None), 0)], else_=len(bounds)).label("week")
    kept = func.sum(case((Parcel.promise_kept.is_(True), 1), else_=0))
    query = (
        select(week, Carrier.name, Zone.name, func.count(), kept)
        .select_from(Parcel)
        .join(Carrier, Carrier.id == Parcel.carrier_id)
        .outerjoin(Zone, Zone.id == Parcel.zone_id)
        .where(scope.during(Parcel.delivered_at), Parcel.promise_kept.is_not(None))
        .group_by(week, Parcel.carrier_id, Carrier.name, Parcel.zone_id, Zone.name)
    )
    rows = [
        PromiseRow(carrier, zone or NO_ZONE, firsts[int(n)], total, int(k or 0))
        for n, carrier, zone, total, k in db.session.execute(for_merchant(query, scope)).all()
    ]
    rows.sort(key=lambda r: (r.carrier, r.zone == NO_ZONE, r.zone, r.week))
    return Promises(rows)
