"""A parcel and the pickup point it chose: the point's hours as a page says them, and the last
day the parcel is kept there, never a day the point is closed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from portal.localtime import parcel_zone
from portal.models import ChoiceType, DeliveryChoice, Parcel, PickupPoint
from portal.services.delivery import PICKUP_HOLD_DAYS, current_choice
from portal.services.network import hours

_POINT_TYPES = (ChoiceType.PICKUP_POINT, ChoiceType.LOCKER)


def chosen_point(parcel: Parcel) -> PickupPoint | None:
    """The pickup point or locker of the parcel's choice in force, if that is one."""
    if parcel.id is None:  # a message preview's sample parcel: it chose nothing
        return None
    choice = current_choice(parcel)
    return choice.pickup_point if choice is not None and choice.type in _POINT_TYPES else None


def point_hours(point: PickupPoint | None, now: datetime) -> str | None:
    """A chosen point's hours as one line ("Open now · closes 20:00"); None: no point."""
    return hours.summary(point, now) if point is not None else None


def choice_hours(choice: DeliveryChoice | None, now: datetime) -> str | None:
    """The hours summary of a choice's pickup point; None for any other choice."""
    if choice is None or choice.type not in _POINT_TYPES:
        return None
    return point_hours(choice.pickup_point, now)


@dataclass
class PickupDeadline:
    """Where a parcel waits and until when."""

    last_day: date
    place: str | None = None  # the chosen point's name and address; None: not known here
    hours: str | None = None  # the point's hours on the last day ("10:00-16:00"), if known


def pickup_deadline(parcel: Parcel, held_from: datetime) -> PickupDeadline:
    """The last day a parcel that arrived at its pickup point at `held_from` is kept:
    PICKUP_HOLD_DAYS later, moved to the point's next open day when the point is closed that
    day (its hours, a public holiday, an operator's closure), with that day's hours. A parcel
    without a chosen point keeps the plain deadline and no hours."""
    day = held_from.astimezone(parcel_zone(parcel)).date() + timedelta(days=PICKUP_HOLD_DAYS)
    point = chosen_point(parcel)
    if point is None:
        return PickupDeadline(day)
    place = f"{point.name}, {point.address_line}"
    open_day = hours.next_open_day(point, day)
    if open_day is None:  # closed for longer than we look ahead: no hours worth promising
        return PickupDeadline(day, place)
    periods = hours.open_periods(point, open_day)
    # Hours that don't parse are shown as the operator wrote them on pages, not in messages.
    return PickupDeadline(open_day, place, hours.day_hours(point, open_day) if periods else None)
