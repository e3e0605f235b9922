"""Schemathesis on the carrier's pickup point calls with a carrier key. `test_api_fuzz.py` sends
a merchant key to every operation not in `fuzz.CARRIER_OPERATIONS`, which these answer with a
documented 403 before reading anything; here they get past the key into the handlers."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.models import Carrier, ChoiceType, ParcelStatus, PickupPoint, Zone
from portal.services import delivery
from tests.support import factories, fuzz

OPERATIONS = [
    "PUT /pickup-points/{external_id}",
    "DELETE /pickup-points/{external_id}",
    "POST /pickup-points/import",
]


@pytest.fixture
def keys(db) -> dict[str, str]:
    """fuzz.seed()'s data, plus the document's example point (SE-1001) of its carrier with a
    parcel booked on it, so the examples reach an update and a closure that tells someone."""
    keys = fuzz.seed()
    carrier = db.session.execute(
        select(Carrier).where(Carrier.name == "Baltic Express")
    ).scalar_one()
    zone = db.session.execute(select(Zone)).scalar_one()
    point = PickupPoint(
        carrier_id=carrier.id,
        external_id="SE-1001",
        zone_id=zone.id,
        name="Pressbyrån Odenplan",
        address_line="Odenplan 1",
        postcode="113 22",
        city="Stockholm",
        latitude=59.3429,
        longitude=18.0496,
        opening_hours="Mo-Fr 07:00-21:00",
    )
    db.session.add(point)
    db.session.flush()
    parcel = factories.make_parcel(carrier=carrier, statuses=[ParcelStatus.IN_TRANSIT])
    delivery.choose(
        parcel,
        delivery.ChoiceRequest(ChoiceType.PICKUP_POINT, pickup_point_id=point.id),
        confirm=False,
    )
    db.session.commit()
    # fuzz.fuzz sends the "merchant" key to operations it doesn't list as a carrier's.
    return {"merchant": keys["carrier"], "carrier": keys["carrier"]}


@pytest.mark.slow
@pytest.mark.parametrize("operation", OPERATIONS)
def test_carrier_point_calls_answer_as_documented(app, keys, operation):
    assert operation in fuzz.operations()
    run = fuzz.fuzz(app, keys, operation, max_examples=25)
    assert run.calls > 0
    assert set(run.statuses) - {401, 403, 429}, run.statuses  # the handlers were reached
