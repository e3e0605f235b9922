"""CO2e estimates follow from the published factors, and rank the options as they should."""

from __future__ import annotations

import pytest

from portal.green import estimate
from portal.green.factors import FACTORS
from portal.models import ChoiceType, Vehicle


def test_every_factor_has_a_value_unit_and_source():
    for f in FACTORS.values():
        assert f.value >= 0 and f.unit and f.source and str(f.label)


def test_a_van_drop_carries_the_failed_first_attempts():
    assert estimate.home_drop(Vehicle.VAN) == round(181 * 1.12) == 203
    assert estimate.home_drop(attended=False) == 181  # safe place, neighbour: no second drive
    assert estimate.home_drop(Vehicle.CARGO_BIKE) == round(181 * 0.10 * 1.12) == 20


def test_pickup_points_save_a_third_until_the_trip_there_needs_a_car():
    assert estimate.pickup(None) == estimate.pickup(900) == round(181 * 2 / 3) == 121
    assert estimate.pickup(2000) == 121 + round(2 * 2.0 * 170)  # there and back by car
    assert estimate.pickup(1001) > estimate.pickup(1000)


def test_the_options_rank_as_the_factors_say():
    bike, locker, green, safe, van = (
        estimate.for_option(ChoiceType.SLOT, vehicle=Vehicle.CARGO_BIKE),
        estimate.for_option(ChoiceType.LOCKER, distance=300),
        estimate.for_option(ChoiceType.GREEN_DAY),
        estimate.for_option(ChoiceType.SAFE_PLACE),
        estimate.for_option(ChoiceType.SLOT, vehicle=Vehicle.VAN),
    )
    assert bike < locker < green < safe < van


@pytest.mark.parametrize(
    ("a", "b", "km"),
    [((59.3293, 18.0686), (57.7089, 11.9746), 397), ((59.3293, 18.0686), (59.3293, 18.0686), 0)],
)
def test_distances_are_great_circle(a, b, km):
    assert round(estimate.distance_m(*a, *b) / 1000) == km


def test_the_estimates_name_options_as_the_models_store_them():
    # estimate.py stays free of the models by spelling the values out; a renamed value must fail.
    assert {estimate.VAN, estimate.CARGO_BIKE} == set(Vehicle)
    named = {*estimate.PICKUP_KINDS, estimate.GREEN_DAY, *estimate.UNATTENDED_KINDS}
    assert named <= set(ChoiceType)
