"""Segments: the groups of comparable parcels a prediction learns from, most specific first.

    route      carrier, origin postcode area → destination zone
    zone_pair  carrier, origin zone → destination zone
    carrier    carrier, anywhere

Each with the pickup weekday where the data has enough parcels for it, and across weekdays
otherwise. Past those: the operator's default for the carrier, then the global default
(config EDD_DEFAULT_DAYS). The fit writes one TransitEstimate row per segment with at least
EDD_MIN_SAMPLE parcels; a prediction reads the candidates by primary key in one statement, and
each worker keeps what it read for a few minutes (a fit runs nightly).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import bindparam, select

from portal.contact import normalise_postcode
from portal.extensions import db
from portal.models import Carrier, TransitEstimate

BASES = ("carrier", "route", "zone_pair", "carrier_default", "default")
ANY_DAY = "*"
# A new fit reaches every worker's predictions within this many seconds.
_TTL_SECONDS = 600
_CACHE_MAX = 50_000
_cache: dict[str, tuple[float, Estimate | None]] = {}
_LOOKUP = select(
    TransitEstimate.segment,
    TransitEstimate.basis,
    TransitEstimate.histogram,
    TransitEstimate.sample_size,
).where(TransitEstimate.segment.in_(bindparam("segments", expanding=True)))


@dataclass(frozen=True)
class Estimate:
    """A segment's transit counts (index: working days) or, for the defaults, a range."""

    basis: str
    histogram: tuple[int, ...] = ()
    sample_size: int = 0
    days: tuple[int, int] | None = None  # carrier_default / default: (min, max)


@dataclass(frozen=True)
class Journey:
    """What a prediction needs to know of a parcel (or of a parcel not yet made)."""

    carrier_id: int
    origin_area: str | None
    origin_zone_id: int | None
    zone_id: int | None
    country: str


def origin_area(postcode: str | None) -> str | None:
    """The postcode area a route starts from: the first EDD_ORIGIN_AREA_DIGITS characters of
    the normalised postcode (Sweden's "11" is central Stockholm, "41" Gothenburg)."""
    code = normalise_postcode(postcode or "")
    if not code:
        return None
    return code[: current_app.config["EDD_ORIGIN_AREA_DIGITS"]]


def segment_keys(journey: Journey, weekday: int | None) -> list[tuple[str, str]]:
    """(segment, basis) candidates, most specific first; `weekday` None: across weekdays."""
    days = ([str(weekday)] if weekday is not None else []) + [ANY_DAY]
    c = journey.carrier_id
    keys: list[tuple[str, str]] = []
    if journey.origin_area and journey.zone_id:
        keys += [(f"route|{c}|{journey.origin_area}|{journey.zone_id}|{d}", "route") for d in days]
    if journey.origin_zone_id and journey.zone_id:
        keys += [
            (f"zone_pair|{c}|{journey.origin_zone_id}|{journey.zone_id}|{d}", "zone_pair")
            for d in days
        ]
    keys += [(f"carrier|{c}|{d}", "carrier") for d in days]
    return keys


def estimate_for(
    journey: Journey, weekday: int | None, known: dict[str, Estimate] | None = None
) -> Estimate:
    """The most specific estimate there is for this journey, the defaults last; from `known`
    (a fit not written: the backtest) instead of the stored estimates when given."""
    keys = segment_keys(journey, weekday)
    if known is not None:
        found: dict[str, Estimate | None] = {k: known.get(k) for k, _ in keys}
    else:
        found = _read([k for k, _ in keys])
    for key, _basis in keys:
        if found.get(key) is not None:
            return found[key]
    days = _carrier_default(journey.carrier_id)
    if days is not None:
        return Estimate("carrier_default", days=days)
    low, high = current_app.config["EDD_DEFAULT_DAYS"]
    return Estimate("default", days=(int(low), int(high)))


def _read(keys: list[str]) -> dict[str, Estimate | None]:
    now = time.monotonic()
    found: dict[str, Estimate | None] = {}
    missing = []
    for key in keys:
        known = _cache.get(key)
        if known is not None and now - known[0] < _TTL_SECONDS:
            found[key] = known[1]
        else:
            missing.append(key)
    if missing:
        if len(_cache) > _CACHE_MAX:
            _cache.clear()
        rows = db.session.execute(_LOOKUP, {"segments": missing}).all()
        read = {r.segment: Estimate(r.basis, tuple(r.histogram), r.sample_size) for r in rows}
        for key in missing:
            found[key] = read.get(key)
            _cache[key] = (now, found[key])
    return found


def _carrier_default(carrier_id: int) -> tuple[int, int] | None:
    key = f"carrier_default|{carrier_id}"
    now = time.monotonic()
    known = _cache.get(key)
    if known is not None and now - known[0] < _TTL_SECONDS:
        return known[1].days if known[1] else None
    row = db.session.execute(
        select(Carrier.edd_days_min, Carrier.edd_days_max).where(Carrier.id == carrier_id)
    ).first()
    days = (row[0], row[1]) if row is not None and row[0] is not None else None
    _cache[key] = (now, Estimate("carrier_default", days=days) if days else None)
    return days


def forget_estimates() -> None:
    """Drop this process's copy: after a fit or an operator's new carrier default here."""
    _cache.clear()
