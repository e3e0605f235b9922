"""From a segment's transit counts to dates: the most likely day (the commonest transit), and
the narrowest range around it that held at least EDD_RANGE_COVERAGE of the segment's parcels,
with the share it held as the confidence. Counted from the pickup day (or, before pickup, from
the day it is expected to ship), in the destination's working days, and updated at each scan:
a parcel still on its way on day n can't arrive before day n, and a `delayed` scan rules out
the day it came."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Protocol

from flask import current_app

from portal.localtime import zone_of
from portal.models import ParcelStatus
from portal.services.edd.segments import Estimate, Journey, estimate_for
from portal.services.edd.workdays import WorkCalendar, calendar_for


@dataclass(frozen=True)
class Prediction:
    earliest: date
    latest: date
    most_likely: date
    confidence: float | None  # share of comparable parcels that arrived within the range
    basis: str
    sample_size: int
    delayed: bool = False  # a `delayed` scan moved it

    def as_json(self) -> dict[str, Any]:
        return {
            "earliest": self.earliest.isoformat(),
            "latest": self.latest.isoformat(),
            "most_likely": self.most_likely.isoformat(),
            "confidence": None if self.confidence is None else round(self.confidence, 3),
            "basis": self.basis,
            "sample_size": self.sample_size,
        }

    def late_on(self, today: date) -> bool:
        return today > self.latest

    @property
    def in_tens(self) -> int | None:
        """ "9 in 10 parcels like this": the confidence rounded down, never overstated."""
        return None if self.confidence is None else int(self.confidence * 10 + 1e-9)


def transit_range(
    histogram: tuple[int, ...], at_least: int = 0, coverage: float = 0.95
) -> tuple[int, int, int, float, int] | None:
    """(lowest, most likely, highest, share within, parcels) of the transits >= `at_least`, or
    None when no parcel took that long."""
    counts = [c if days >= at_least else 0 for days, c in enumerate(histogram)]
    total = sum(counts)
    if not total:
        return None
    mode = max(range(len(counts)), key=lambda d: (counts[d], -d))
    low = high = mode
    held = counts[mode]
    while held < coverage * total:
        below = counts[low - 1] if low > 0 else -1
        above = counts[high + 1] if high + 1 < len(counts) else -1
        if below < 0 and above < 0:
            break
        # The bigger neighbour first; on a tie, later (a later promise is the safer one).
        if above >= below:
            high += 1
            held += max(above, 0)
        else:
            low -= 1
            held += below
    return low, mode, high, held / total, total


def predict(
    estimate: Estimate,
    start: date,
    calendar: WorkCalendar,
    *,
    at_least: int = 0,
    delayed: bool = False,
) -> Prediction:
    """Dates for a journey starting (picked up, or shipping) on `start`."""
    if estimate.days is not None:
        low, high = estimate.days
        low = max(low, at_least)
        high = max(high, low)
        return Prediction(
            calendar.add(start, low),
            calendar.add(start, high),
            calendar.add(start, low),
            None,
            estimate.basis,
            0,
            delayed,
        )
    coverage = current_app.config["EDD_RANGE_COVERAGE"]
    found = transit_range(estimate.histogram, at_least, coverage)
    if found is None and delayed:
        # Later than every comparable parcel and the carrier says it is delayed: the first day
        # it can still come, with no share to back it.
        day = calendar.add(start, at_least)
        return Prediction(day, day, day, None, estimate.basis, 0, delayed)
    if found is None:
        # Slower than every parcel it is compared with: the prediction as it was (now past).
        found = transit_range(estimate.histogram, 0, coverage)
    low, likely, high, share, size = found  # type: ignore[misc]
    return Prediction(
        calendar.add(start, low),
        calendar.add(start, high),
        calendar.add(start, likely),
        share,
        estimate.basis,
        size,
        delayed,
    )


# Waiting at a pickup point, held at the recipient's request, or after a failed attempt (the
# recipient books the next one): a learned transit says nothing about when it comes.
NO_PREDICTION = frozenset(
    {ParcelStatus.READY_FOR_PICKUP, ParcelStatus.ON_HOLD, ParcelStatus.DELIVERY_FAILED}
)


class Predictable(Protocol):
    status: ParcelStatus
    status_at: datetime | None
    picked_up_at: datetime | None
    carrier_id: int
    origin_area: str | None
    origin_zone_id: int | None
    zone_id: int | None
    country: str


def predict_parcel(
    parcel: Predictable, time_zone: str | None, now: datetime | None = None
) -> Prediction | None:
    """The parcel's predicted delivery as of its last scan, or None once its journey ended or
    its day depends on the recipient (NO_PREDICTION). Before pickup: as if it ships on the next
    working day."""
    status = ParcelStatus(parcel.status)
    if status.is_terminal or status in NO_PREDICTION:
        return None
    zone = zone_of(time_zone)
    calendar = calendar_for(parcel.country, parcel.zone_id)
    journey = Journey(
        parcel.carrier_id, parcel.origin_area, parcel.origin_zone_id, parcel.zone_id, parcel.country
    )
    if parcel.picked_up_at is None:
        today = (now or datetime.now(zone)).astimezone(zone).date()
        start = calendar.next_working(today)
        return predict(estimate_for(journey, start.weekday()), start, calendar)
    start = parcel.picked_up_at.astimezone(zone).date()
    scanned = (parcel.status_at or parcel.picked_up_at).astimezone(zone).date()
    delayed = status == ParcelStatus.DELAYED
    at_least = calendar.count(start, scanned) + (1 if delayed else 0)
    estimate = estimate_for(journey, start.weekday())
    prediction = predict(estimate, start, calendar, at_least=at_least, delayed=delayed)
    if status == ParcelStatus.OUT_FOR_DELIVERY:
        # On the van: the day of that scan, whatever the usual transit (the carrier's window,
        # when it sends one, says more and wins on the page).
        return replace(
            prediction,
            earliest=scanned,
            most_likely=scanned,
            latest=max(prediction.latest, scanned),
        )
    today = (now or datetime.now(zone)).astimezone(zone).date()
    if prediction.most_likely < today <= prediction.latest:
        # The likeliest day went by without a scan, but the range still holds: only parcels
        # that took at least until the next day anyone delivers are like this one now. Past
        # the range, the range as it stood is what the page admits to have missed.
        open_day = today if calendar.is_working(today) else calendar.next_working(today)
        later = predict(
            estimate,
            start,
            calendar,
            at_least=max(at_least, calendar.count(start, open_day)),
            delayed=delayed,
        )
        if later.most_likely >= today:
            prediction = later
    return prediction


def predict_before_shipping(journey: Journey, ship_date: date | None, today: date) -> Prediction:
    """For a parcel not made yet (the merchant's product page and checkout)."""
    calendar = calendar_for(journey.country, journey.zone_id)
    start = ship_date or calendar.next_working(today)
    return predict(estimate_for(journey, start.weekday()), start, calendar)
