"""The backtest: fit on what was known before the last N days, predict each parcel picked up
in those days as of its pickup, and compare with when it arrived; beside the naive baseline
(each carrier's median transit as a single day). `flask --app wsgi edd backtest --days 30`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import TransitObservation
from portal.services.edd.fit import MAX_TRANSIT_DAYS, fit_estimates
from portal.services.edd.predict import predict
from portal.services.edd.segments import ANY_DAY, Estimate, Journey, estimate_for
from portal.services.edd.workdays import WorkCalendar, all_closed_days


@dataclass
class Score:
    parcels: int = 0
    exact: int = 0
    in_range: int = 0
    error_days: int = 0  # absolute, in working days
    stated: float = 0.0  # the confidences stated, summed
    stated_parcels: int = 0  # parcels predicted with a confidence (not the defaults)
    stated_in_range: int = 0
    # Stated confidence band (tenths) → [parcels, arrived within range]
    bands: dict[float, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def add(
        self, n: int, exact: bool, in_range: bool, error: int, confidence: float | None
    ) -> None:
        self.parcels += n
        self.exact += n * exact
        self.in_range += n * in_range
        self.error_days += n * error
        if confidence is None:  # a default: it states no confidence to calibrate
            return
        self.stated += n * confidence
        self.stated_parcels += n
        self.stated_in_range += n * in_range
        band = self.bands[min(int(confidence * 20) / 20, 0.95)]
        band[0] += n
        band[1] += n * in_range

    def figures(self) -> dict[str, float]:
        n, stated = self.parcels or 1, self.stated_parcels or 1
        return {
            "exact_day": self.exact / n,
            "in_range": self.in_range / n,
            "mean_abs_error_days": self.error_days / n,
            "stated_confidence": self.stated / stated,
            "calibration_gap": abs(self.stated - self.stated_in_range) / stated,
        }


@dataclass
class Backtest:
    since: date
    until: date
    fitted_on: int
    model: Score
    baseline: Score


def _carrier_medians(estimates: dict[str, Estimate]) -> dict[int, tuple[int, float]]:
    """Each carrier's median transit over all its parcels, and the share that took exactly it."""
    out = {}
    for key, estimate in estimates.items():
        parts = key.split("|")
        if parts[0] != "carrier" or parts[2] != ANY_DAY:
            continue
        half, running = estimate.sample_size / 2, 0
        for days, count in enumerate(estimate.histogram):
            running += count
            if running >= half:
                out[int(parts[1])] = (days, count / estimate.sample_size)
                break
    return out


def backtest(days: int, *, settle_days: int = 0, today: date | None = None) -> Backtest:
    """Fit on what was known `days` + `settle_days` ago, and predict the parcels picked up in
    the `days` after. `settle_days` leaves out the latest pickups, whose slow parcels may still
    be on their way (only delivered parcels are observed, so they would flatter the figures)."""
    today = (today or date.today()) - timedelta(days=settle_days)
    since = today - timedelta(days=days)
    fit = fit_estimates(before=since, write=False)
    medians = _carrier_medians(fit.estimates)
    closed = all_closed_days()
    o = TransitObservation.__table__.c
    # Parcels alike in everything a prediction or its check reads, counted once.
    alike = (
        o.carrier_id,
        o.origin_area,
        o.origin_zone_id,
        o.zone_id,
        o.country,
        o.picked_up_on,
        o.transit_days,
    )
    rows = db.session.execute(
        select(*alike, func.count().label("parcels"))
        .where(o.picked_up_on >= since, o.picked_up_on < today)
        .group_by(*alike)
    )
    model, baseline = Score(), Score()
    calendars: dict[tuple[str, int | None], WorkCalendar] = {}
    for row in rows:
        key = (row.country, row.zone_id)
        if key not in calendars:
            calendars[key] = WorkCalendar(row.country, closed.get(row.zone_id, frozenset()))
        calendar = calendars[key]
        journey = Journey(
            row.carrier_id, row.origin_area, row.origin_zone_id, row.zone_id, row.country
        )
        start, actual = row.picked_up_on, min(row.transit_days, MAX_TRANSIT_DAYS)
        p = predict(estimate_for(journey, start.weekday(), fit.estimates), start, calendar)
        likely = calendar.count(start, p.most_likely)
        low, high = calendar.count(start, p.earliest), calendar.count(start, p.latest)
        model.add(
            row.parcels,
            likely == actual,
            low <= actual <= high,
            abs(likely - actual),
            p.confidence,
        )
        median, share = medians.get(row.carrier_id, (likely, 0.0))
        baseline.add(row.parcels, median == actual, median == actual, abs(median - actual), share)
    return Backtest(since, today, fit.observations, model, baseline)
