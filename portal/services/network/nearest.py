"""The pickup points nearest a postcode, open ones only, with what their hours say now.

How: a bounding box on latitude and longitude first, which the composite B-tree index
`ix_pickup_point_lat_lon` answers as a range scan (latitude bounds the scan, longitude is
checked inside the index), then the exact great-circle distance (`green.estimate.distance_m`,
haversine) in Python for the few rows in the box. The box starts 2 km around the postcode's
centre and widens fourfold (8, 32, 128, 512 km) until `limit` open points lie *within its
radius*: only those are sure to be the nearest, because a point in a box corner can be √2
times the radius away while one just outside a side is nearer. At 512 km the search stops and
answers what lies within it: a point further away is no pickup choice.

Why this and not PostGIS or a geohash column: one plain index that works the same on SQLite
(development, tests) and PostgreSQL, for a network of thousands of points where a box of a few
kilometres holds tens of rows; a nearest-neighbour index would pay off only far beyond that.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.green.estimate import EARTH_RADIUS_M, distance_m
from portal.localtime import zone_of
from portal.models import PickupPoint, Zone
from portal.services.errors import NotFound
from portal.services.network import hours
from portal.services.zones import postcode_centre, zone_for_postcode

RADII_M = (2_000, 8_000, 32_000, 128_000, 512_000)
MAX_LIMIT = 50


@dataclass
class Nearby:
    point: PickupPoint
    distance_m: int
    hours: hours.HoursNow


@dataclass
class Search:
    """What was searched from (the postcode's centre, its zone if any) and what was found."""

    latitude: float
    longitude: float
    zone: Zone | None
    points: list[Nearby]


def candidates(latitude: float, longitude: float, radius_m: float, now: datetime) -> Select:
    """Points inside the box of half-side `radius_m` around the place: the query the index
    answers. Near a pole, or across the antimeridian, only the latitude bounds it. Points
    closed for good before yesterday (any zone's today) are left out here already."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    query = select(PickupPoint).where(
        PickupPoint.latitude.between(latitude - dlat, latitude + dlat),
        or_(
            PickupPoint.closed_from.is_(None),
            PickupPoint.closed_until.is_not(None),
            PickupPoint.closed_from > (now - timedelta(days=1)).date(),
        ),
    )
    cos = math.cos(math.radians(latitude))
    if cos > 0.01:
        dlon = dlat / cos
        if longitude - dlon >= -180 and longitude + dlon <= 180:
            query = query.where(PickupPoint.longitude.between(longitude - dlon, longitude + dlon))
    return query


def ranked(
    latitude: float,
    longitude: float,
    *,
    limit: int,
    now: datetime,
    keep: Callable[[PickupPoint], bool],
    where: tuple = (),
    radii: tuple[int, ...] = RADII_M,
    options: tuple = (),
) -> list[tuple[PickupPoint, int]]:
    """Up to `limit` points nearest the place that pass `keep` (and the extra `where`), with
    their distance in metres, nearest first: the widening box described above."""
    found: dict[int, tuple[PickupPoint, int]] = {}
    for radius in radii:
        query = candidates(latitude, longitude, radius, now).where(*where).options(*options)
        for point in db.session.execute(query).scalars():
            if point.id in found or not keep(point):
                continue
            found[point.id] = (
                point,
                distance_m(latitude, longitude, point.latitude, point.longitude),
            )
        if sum(1 for _, d in found.values() if d <= radius) >= limit:
            break
    # The widest box's corners reach past its radius: nothing further than the radius is listed.
    within = [pd for pd in found.values() if pd[1] <= radii[-1]]
    return sorted(within, key=lambda pd: (pd[1], pd[0].name, pd[0].id))[:limit]


def nearest(latitude: float, longitude: float, *, limit: int, now: datetime) -> list[Nearby]:
    """Up to `limit` points nearest the place, nearest first, leaving out those an operator or
    their carrier closed for today (their zone's today)."""
    found = ranked(
        latitude,
        longitude,
        limit=limit,
        now=now,
        keep=lambda point: not point.closed_on(_local_today(point, now)),
        options=(selectinload(PickupPoint.zone), selectinload(PickupPoint.carrier)),
    )
    return [Nearby(p, d, hours.now(p, now)) for p, d in found]


def near_postcode(country: str, postcode: str, *, limit: int, now: datetime) -> Search:
    """The points nearest the centre of the postcode's area (its longest known prefix)."""
    centre = postcode_centre(country, postcode)
    if centre is None:
        raise NotFound(
            "We don't know where this postcode is: no zone of ours covers it.",
            field="postcode",
            code="postcode_not_served",
        )
    limit = max(1, min(limit, MAX_LIMIT))
    return Search(
        centre[0],
        centre[1],
        zone_for_postcode(country, postcode),
        nearest(centre[0], centre[1], limit=limit, now=now),
    )


def _local_today(point: PickupPoint, now: datetime):
    return now.astimezone(zone_of(point.zone.time_zone if point.zone else None)).date()
