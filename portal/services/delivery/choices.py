"""The choices made for a parcel: the one in force, the history, the timeline lines, and the
one line that says what was chosen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.localtime import clock, format_day, zone_of
from portal.models import ChoiceType, DeliveryChoice, Parcel, PickupPoint, Slot

SAFE_PLACES = ("porch", "garage", "back_door", "shed", "other")
SAFE_PLACE_TEXT = {
    "porch": _l("Porch"),
    "garage": _l("Garage"),
    "back_door": _l("Back door"),
    "shed": _l("Shed"),
    "other": _l("Somewhere else"),
}
C = ChoiceType


def current_choice(parcel: Parcel) -> DeliveryChoice | None:
    return db.session.execute(
        select(DeliveryChoice)
        .where(DeliveryChoice.parcel_id == parcel.id, DeliveryChoice.superseded_at.is_(None))
        .order_by(DeliveryChoice.made_at.desc(), DeliveryChoice.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def choice_history(parcel: Parcel) -> list[DeliveryChoice]:
    """Every choice made for the parcel, oldest first."""
    return list(db.session.execute(_CHOICES, {"parcel_id": parcel.id}).scalars())


# Built once (issue 17: building a statement per call costs about as much as running it).
# What describing a choice reads (pages, the API's choice_json): its slot and the slot's zone,
# its point and the point's zone (opening hours are told in the zone's time, point_hours), in
# one query, not one more per slot or point.
_CHOICES = (
    select(DeliveryChoice)
    .options(
        joinedload(DeliveryChoice.slot).joinedload(Slot.zone),
        joinedload(DeliveryChoice.pickup_point).joinedload(PickupPoint.zone),
    )
    .where(DeliveryChoice.parcel_id == bindparam("parcel_id"))
    .order_by(DeliveryChoice.made_at, DeliveryChoice.id)
)


@dataclass
class ChoiceEntry:
    """A delivery choice as a timeline line (shown to verified recipients and agents)."""

    occurred_at: datetime
    text: str
    made_by: str
    code: str = "choice"
    location: str | None = None
    description: str | None = None
    # Still in force: neither replaced by a newer choice nor withdrawn by a closure.
    current: bool = False
    pickup_point: PickupPoint | None = None


def choice_entries(parcel_id: int, tz: str | None) -> list[ChoiceEntry]:
    rows = db.session.execute(_CHOICES, {"parcel_id": parcel_id}).scalars()
    return [
        ChoiceEntry(
            c.made_at,
            describe(c, tz),
            c.made_by,
            current=c.superseded_at is None,
            pickup_point=c.pickup_point,
        )
        for c in rows
    ]


def delivery_day(choice: DeliveryChoice | None) -> date | None:
    """The day a choice commits the carrier to, whose cutoff closes changes."""
    if choice is None:
        return None
    if choice.type is C.SLOT and choice.slot:
        return choice.slot.day
    if choice.type in (C.GREEN_DAY, C.HOLD):
        return choice.day
    return None


def describe(choice: DeliveryChoice, tz: str | None = None) -> str:
    """One line saying what was chosen, in the current language (pages, messages, API)."""
    zone = zone_of(tz)
    t = choice.type
    if t is C.SLOT and choice.slot:
        s = choice.slot
        return str(
            _l(
                "Delivery on %(day)s, %(start)s-%(end)s",
                day=format_day(s.day),
                start=clock(s.starts_at, zone),
                end=clock(s.ends_at, zone),
            )
        )
    if t is C.GREEN_DAY and choice.day:
        return str(_l("Green day delivery on %(day)s", day=format_day(choice.day)))
    if t in (C.PICKUP_POINT, C.LOCKER) and choice.pickup_point:
        p = choice.pickup_point
        what = _l("Locker") if t is C.LOCKER else _l("Pickup point")
        return f"{what}: {p.name}, {p.address_line}"
    if t is C.SAFE_PLACE:
        place = str(SAFE_PLACE_TEXT.get(choice.place or "other", ""))
        text = str(_l("Leave it in a safe place: %(place)s", place=place))
        return f"{text} ({choice.note})" if choice.note else text
    if t is C.NEIGHBOUR:
        return str(
            _l(
                "Leave it with %(name)s at number %(house)s",
                name=choice.note or "",
                house=choice.neighbour_house or "",
            )
        )
    if t is C.HOLD and choice.day:
        return str(_l("Hold until %(day)s", day=format_day(choice.day)))
    return str(t)
