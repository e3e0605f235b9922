"""Grams of CO2e for each delivery option, from the factors in factors.py.

home drop        = van drop × vehicle share × (1 + failure rate)
green day        = van drop × green-day share × (1 + home failure rate)
pickup / locker  = van drop × pickup share + (car trip there and back, beyond walking distance)
These are estimates for comparing options, not measurements of a particular round.
"""

from __future__ import annotations

import math

from portal.green.factors import factor
from portal.models import ChoiceType, Vehicle

EARTH_RADIUS_M = 6_371_000


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> int:
    """Great-circle distance in metres (haversine): close enough for "which point is nearest"."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return round(2 * EARTH_RADIUS_M * math.asin(math.sqrt(a)))


def _vehicle_share(vehicle: Vehicle | None) -> float:
    return factor("cargo_bike_share") if vehicle is Vehicle.CARGO_BIKE else 1.0


def home_drop(vehicle: Vehicle | None = Vehicle.VAN, *, attended: bool = True) -> int:
    """A home delivery; `attended=False` for a safe place or neighbour (no failed attempts)."""
    failure = factor("home_failure_rate") if attended else factor("attended_failure_rate")
    return round(factor("van_drop") * _vehicle_share(vehicle) * (1 + failure))


def green_day() -> int:
    return round(factor("van_drop") * factor("green_day_share") * (1 + factor("home_failure_rate")))


def pickup(distance: int | None) -> int:
    """A pickup point or locker `distance` metres from home (None: unknown, assume walking)."""
    trip = 0.0
    if distance is not None and distance > factor("walking_distance_m"):
        trip = 2 * distance / 1000 * factor("car_per_km")
    return round(factor("van_drop") * factor("pickup_point_share") + trip)


def for_option(
    kind: ChoiceType, *, vehicle: Vehicle | None = None, distance: int | None = None
) -> int:
    """The estimate for one option."""
    if kind in (ChoiceType.PICKUP_POINT, ChoiceType.LOCKER):
        return pickup(distance)
    if kind is ChoiceType.GREEN_DAY:
        return green_day()
    if kind in (ChoiceType.SAFE_PLACE, ChoiceType.NEIGHBOUR):
        return home_drop(Vehicle.VAN, attended=False)
    return home_drop(vehicle or Vehicle.VAN)
