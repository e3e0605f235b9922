"""A city zone with many pickup points: the delivery options list the nearest open ones, found
through a widening box around the postcode's centre rather than every point of the zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import time_machine

from portal.extensions import db
from portal.models import ParcelStatus, PickupPoint
from portal.services import delivery_options
from tests.support import factories

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def add_points(zone, count: int) -> None:
    """`count` kiosks 100 m apart going north from the centre of postcode area 113."""
    lat, lon = factories.VASASTAN
    for n in range(count):
        db.session.add(
            PickupPoint(
                zone_id=zone.id,
                name=f"Kiosk {n:02d}",
                address_line=f"Kioskgatan {n}",
                postcode="113 50",
                city="Stockholm",
                latitude=lat + 0.0009 * (n + 1),  # about 100 m a step
                longitude=lon,
                opening_hours="Mo-Su 08:00-22:00",
            )
        )
    db.session.commit()


def test_the_nearest_open_points_are_listed_among_many(app):
    zone = factories.make_delivery_zone()
    add_points(zone, 60)
    # The nearest kiosk is closed for the parcel's whole stay: it must not take a place.
    nearest = db.session.query(PickupPoint).filter_by(name="Kiosk 00").one()
    nearest.closed_from = date(2026, 11, 20)
    db.session.commit()
    parcel = factories.make_parcel(statuses=[ParcelStatus.IN_TRANSIT])
    with app.test_request_context(), time_machine.travel(NOW, tick=False):
        options = delivery_options.for_parcel(parcel)
    names = [o.label for o in options.pickup_points]
    distances = [o.distance_m for o in options.pickup_points]
    assert len(names) == app.config["PICKUP_POINTS_SHOWN"]
    assert "Kiosk 00" not in names
    assert distances == sorted(distances)
    # make_delivery_zone's "Near Shop" (110 m) and "Box Locker" (220 m) between the kiosks
    # every 100 m; "Far Kiosk" (1.9 km) is left out, as is the closed kiosk at 100 m.
    assert names == ["Near Shop", "Kiosk 01", "Box Locker", "Kiosk 02", "Kiosk 03"]
