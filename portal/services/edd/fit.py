"""The fit: transit counts per segment, from the observations, in one SQL aggregate.

The database groups the observations by carrier, origin area, origin zone, destination zone,
pickup weekday and transit (a few thousand rows at most, however many parcels); Python adds
those rows up into the segments of segments.py and keeps the ones with enough parcels. The
estimates are replaced in the same transaction, so a prediction reads the old fit or the new
one, never half of each."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import case, delete, func, insert, select

from portal.extensions import db
from portal.models import TransitEstimate, TransitObservation
from portal.models.types import utcnow
from portal.services.edd.segments import ANY_DAY, Estimate, forget_estimates

# Longer transits are counted as this many working days (a parcel lost for a month says
# nothing more about the route than one lost for six weeks).
MAX_TRANSIT_DAYS = 30


@dataclass
class FitResult:
    observations: int = 0
    segments: dict[str, int] = field(default_factory=dict)  # basis → how many kept
    seconds: float = 0.0
    since: date | None = None
    before: date | None = None
    estimates: dict[str, Estimate] = field(default_factory=dict)


def _grouped(since: date, before: date):
    o = TransitObservation.__table__.c
    transit = case((o.transit_days > MAX_TRANSIT_DAYS, MAX_TRANSIT_DAYS), else_=o.transit_days)
    query = (
        select(
            o.carrier_id,
            o.origin_area,
            o.origin_zone_id,
            o.zone_id,
            o.pickup_weekday,
            transit.label("transit"),
            func.count().label("parcels"),
        )
        # What was known on `before`: journeys that had ended by then.
        .where(o.picked_up_on >= since, o.delivered_on < before)
        .group_by(
            o.carrier_id, o.origin_area, o.origin_zone_id, o.zone_id, o.pickup_weekday, transit
        )
    )
    return db.session.execute(query)


def fit_estimates(*, before: date | None = None, write: bool = True) -> FitResult:
    """Fit on the observations of the last EDD_FIT_DAYS before `before` (today: all that are
    known). With `write`, replace the stored estimates; either way return them."""
    started = time.perf_counter()
    config = current_app.config
    before = before or date.today() + timedelta(days=1)
    since = before - timedelta(days=config["EDD_FIT_DAYS"])
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * (MAX_TRANSIT_DAYS + 1))
    result = FitResult(since=since, before=before)
    for row in _grouped(since, before):
        result.observations += row.parcels
        c = row.carrier_id
        for day in (str(row.pickup_weekday), ANY_DAY):
            keys = [(f"carrier|{c}|{day}", "carrier")]
            if row.origin_area and row.zone_id:
                keys.append((f"route|{c}|{row.origin_area}|{row.zone_id}|{day}", "route"))
            if row.origin_zone_id and row.zone_id:
                keys.append(
                    (f"zone_pair|{c}|{row.origin_zone_id}|{row.zone_id}|{day}", "zone_pair")
                )
            for key in keys:
                counts[key][row.transit] += row.parcels
    minimum = config["EDD_MIN_SAMPLE"]
    now = utcnow()
    rows = []
    for (segment, basis), histogram in counts.items():
        size = sum(histogram)
        if size < minimum:
            continue
        while histogram and not histogram[-1]:
            histogram.pop()
        result.estimates[segment] = Estimate(basis, tuple(histogram), size)
        result.segments[basis] = result.segments.get(basis, 0) + 1
        rows.append(
            {
                "segment": segment,
                "basis": basis,
                "histogram": histogram,
                "sample_size": size,
                "fitted_at": now,
            }
        )
    if write:
        db.session.execute(delete(TransitEstimate))
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(TransitEstimate), rows[start : start + 5000])
        forget_estimates()
    result.seconds = time.perf_counter() - started
    return result
