"""`/about/co2`: how the CO2e figures are estimated, from the same factors the estimates use."""

from __future__ import annotations

from flask import current_app, render_template

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


# What search engines may not crawl: every path that shows a parcel, a return, a complaint, a
# signed link or a person (they also answer `X-Robots-Tag: noindex`, security.py), the
# console, the desk and the API. The home page and /about/co2 stay open.
ROBOTS_TXT = """User-agent: *
Disallow: /t/
Disallow: /track
Disallow: /l/
Disallow: /r/
Disallow: /c/
Disallow: /u/
Disallow: /me
Disallow: /lang/
Disallow: /admin
Disallow: /dropoff
Disallow: /set-password/
Disallow: /api/
Disallow: /hooks/
Disallow: /dev/
"""


@bp.get("/robots.txt")
def robots_txt():
    response = current_app.response_class(ROBOTS_TXT, mimetype="text/plain")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
