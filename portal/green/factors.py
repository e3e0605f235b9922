"""The emission factors behind every CO2e figure we show, each with its value, unit and source.

Changing a figure here changes every estimate and the `/about/co2` page together, so the page
can never disagree with the numbers. Where a figure is our own assumption rather than a
published measurement, the source says so.
"""

from __future__ import annotations

from dataclasses import dataclass


def N_(message: str) -> str:
    """Marks a label for translation without translating it: this module has no Flask and no
    locale. pybabel extracts N_ by default; the page shows a label through `_()`."""
    return message


@dataclass(frozen=True)
class Factor:
    key: str
    value: float
    unit: str
    label: str
    source: str
    url: str | None = None


_EDWARDS = (
    "Edwards, McKinnon & Cullinane (2010), Comparative analysis of the carbon footprints of "
    "conventional and online retailing: a 'last mile' perspective, International Journal of "
    "Physical Distribution & Logistics Management 40(1/2), 103-123"
)

FACTORS: dict[str, Factor] = {
    f.key: f
    for f in (
        Factor(
            "van_drop",
            181.0,
            "g CO2e / drop",
            N_("A van home delivery, per drop, in an urban round of about 120 drops"),
            _EDWARDS,
            "https://doi.org/10.1108/09600031011018055",
        ),
        Factor(
            "home_failure_rate",
            0.12,
            "share of first attempts",
            N_(
                "Home deliveries that fail the first time, each needing a second drive "
                "(another drop)"
            ),
            _EDWARDS,
            "https://doi.org/10.1108/09600031011018055",
        ),
        Factor(
            "attended_failure_rate",
            0.0,
            "share of first attempts",
            N_("Failed first attempts with a safe place or a neighbour: nobody needs to be in"),
            "Lastmile assumption",
        ),
        Factor(
            "green_day_share",
            0.75,
            "× van drop",
            N_(
                "A drop on the zone's green day, when the van serves the area anyway: denser "
                "rounds need fewer kilometres per parcel"
            ),
            "Lastmile assumption (a quarter fewer kilometres per drop on a consolidated round)",
        ),
        Factor(
            "pickup_point_share",
            2 / 3,
            "× van drop",
            N_(
                "A delivery to a pickup point or locker: one stop serves many parcels, about a "
                "third less than a home drop, and no failed attempts"
            ),
            "Lastmile assumption, in line with published locker studies",
        ),
        Factor(
            "cargo_bike_share",
            0.10,
            "× van drop",
            N_("A drop from an electric cargo bike instead of a diesel van"),
            "Verlinghieri, Itova, Collignon & Aldred (2021), The Promise of Low-Carbon Freight, "
            "Possible / University of Westminster Active Travel Academy: about 90% lower "
            "emissions than diesel vans",
        ),
        Factor(
            "car_per_km",
            170.0,
            "g CO2e / km",
            N_("A trip by car to collect the parcel, there and back"),
            "UK Government greenhouse gas conversion factors for company reporting 2023 "
            "(DESNZ), average car",
            "https://www.gov.uk/government/collections/government-conversion-factors-for-"
            "company-reporting",
        ),
        Factor(
            "walking_distance_m",
            1000.0,
            "metres",
            N_("Pickup points closer than this are assumed to be reached on foot or by bike"),
            "Lastmile assumption",
        ),
    )
}


def factor(key: str) -> float:
    return FACTORS[key].value
