"""Grams of CO2e for each delivery option, from the factors in factors.py.

home drop        = van drop × vehicle share × (1 + failure rate)
green day        = van drop × green-day share × (1 + home failure rate)
pickup / locker  = van drop × pickup share + (car trip there and back, beyond walking distance)
These are estimates for comparing options, not measurements of a particular round.
"""

from __future__ import annotations

import math

from portal.green.factors import factor

EARTH_RADIUS_M = 6_371_000

# Vehicles and delivery options by their stored values (models.Vehicle and models.ChoiceType are
# StrEnums with these values, so either can be passed); plain strings keep this module pure.
VAN = "van"
CARGO_BIKE = "cargo_bike"
PICKUP_KINDS = ("pickup_point", "locker")
GREEN_DAY = "green_day"
UNATTENDED_KINDS = ("safe_place", "neighbour")


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> int:
    """Great-circle distance in metres (haversine): close enough for "which point is nearest"."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return round(2 * EARTH_RADIUS_M * math.asin(math.sqrt(a)))


def _vehicle_share(vehicle: str | None) -> float:
    return factor("cargo_bike_share") if vehicle == CARGO_BIKE else 1.0


def home_drop(vehicle: str | None = VAN, *, attended: bool = True) -> int:
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


def for_option(kind: str, *, vehicle: str | None = None, distance: int | None = None) -> int:
    """The estimate for one option (a ChoiceType); a slot or hold is a home drop."""
    if kind in PICKUP_KINDS:
        return pickup(distance)
    if kind == GREEN_DAY:
        return green_day()
    if kind in UNATTENDED_KINDS:
        return home_drop(VAN, attended=False)
    return home_drop(vehicle or VAN)
