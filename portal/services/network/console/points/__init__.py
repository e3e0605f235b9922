"""Pickup points and lockers from the console, and the carriers that own them.

The package's parts: `editing` (a point's values checked, added and edited), `closing` (closing
and reopening, with the bookings that closes take back), `listing` (the filtered list) and
`carriers`.
"""

from portal.services.network.console.points.carriers import (
    CarrierRow,
    add_carrier,
    all_carriers,
    list_carriers,
)
from portal.services.network.console.points.closing import close_point, reopen_point
from portal.services.network.console.points.editing import (
    PointValues,
    create_point,
    find_point,
    point_subject,
    point_values,
    update_point,
)
from portal.services.network.console.points.listing import (
    PointFilter,
    PointPage,
    hours_summary,
    list_points,
)

__all__ = [
    "CarrierRow",
    "PointFilter",
    "PointPage",
    "PointValues",
    "add_carrier",
    "all_carriers",
    "close_point",
    "create_point",
    "find_point",
    "hours_summary",
    "list_carriers",
    "list_points",
    "point_subject",
    "point_values",
    "reopen_point",
    "update_point",
]
