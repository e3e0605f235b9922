"""`/about/co2`: how the CO2e figures are estimated, from the same factors the estimates use."""

from __future__ import annotations

from flask import render_template

from portal.green import estimate
from portal.green.factors import FACTORS
from portal.models import Vehicle
from portal.pages import bp


@bp.get("/about/co2")
def about_co2():
    examples = {
        "van": estimate.home_drop(Vehicle.VAN),
        "bike": estimate.home_drop(Vehicle.CARGO_BIKE),
        "safe_place": estimate.home_drop(attended=False),
        "green_day": estimate.green_day(),
        "pickup_near": estimate.pickup(500),
        "pickup_far": estimate.pickup(3000),
    }
    return render_template("pages/co2.html", factors=FACTORS.values(), examples=examples)
