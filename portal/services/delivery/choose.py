"""Making a change: a request from a page, an SMS reply or the API, checked against the rules,
booked, and confirmed through the outbox in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from portal.extensions import db, get_by_id
from portal.green import estimate
from portal.i18n import lazy_gettext as _l
from portal.localtime import format_day
from portal.models import ChoiceType, DeliveryChoice, Parcel, PickupPoint, Slot
from portal.models.types import utcnow
from portal.services.delivery.capacity import (
    MADE_BY_MERCHANT,
    check_merchant_share,
    lock_in_order,
    release_booking,
    reserve,
)
from portal.services.delivery.choices import SAFE_PLACES, current_choice
from portal.services.delivery.days import closed_day_text, cutoff, cutoff_time, next_green_day
from portal.services.delivery.errors import ChangeTooLate, PickupPointClosed, SlotClosed
from portal.services.delivery.eta import update_eta
from portal.services.delivery.window import (
    ChangeWindow,
    arrival_day,
    change_window,
    hold_limit,
    parcel_value,
    pickup_span,
    point_closed_text,
    safe_place_allowed,
    today_in,
)
from portal.services.errors import DomainError, NotFound
from portal.services.messages import notify
from portal.services.zones import postcode_centre

C = ChoiceType


@dataclass
class ChoiceRequest:
    """One change as asked for by a page, an SMS reply or the API."""

    type: ChoiceType
    slot_id: int | None = None
    pickup_point_id: int | None = None
    day: date | None = None  # green day, or the hold's last day
    place: str | None = None  # safe place
    note: str | None = None  # safe place note
    neighbour_name: str | None = None
    neighbour_house: str | None = None
    extra: dict = field(default_factory=dict)


def choose(
    parcel: Parcel,
    request: ChoiceRequest,
    *,
    now: datetime | None = None,
    made_by: str = "recipient",
    confirm: bool = True,
    answering: bool = False,
    past_cutoff: bool = False,
) -> DeliveryChoice:
    """Make `request` the parcel's delivery choice, or raise a DomainError saying why not
    (SlotFull, LockerFull, ChangeTooLate, NotFound, or invalid input with its field).

    The caller commits. Choosing what is already chosen changes nothing and sends nothing.
    """
    now = now or utcnow()
    # Lock the parcel: two clicks of one recipient can't both move it (PostgreSQL; SQLite
    # serialises writers anyway).
    db.session.execute(select(Parcel.id).where(Parcel.id == parcel.id).with_for_update())
    if parcel.zone is None:
        raise DomainError(
            str(_l("We don't deliver to this postcode ourselves, so there is nothing to choose.")),
            field="type",
            code="postcode_not_served",
        )
    current = current_choice(parcel)
    window = change_window(parcel, now, current, past_cutoff=past_cutoff)
    if not window.open:
        raise ChangeTooLate(str(window.reason), field="type")
    if request.type not in window.allowed:
        raise ChangeTooLate(
            str(_l("After a failed delivery you can choose a new day or a pickup point.")),
            field="type",
        )
    choice = _build(parcel, request, now, window)
    if current is not None and _same(current, choice):
        return current
    lock_in_order(choice, current)
    if made_by == MADE_BY_MERCHANT and choice.slot is not None:
        check_merchant_share(parcel, choice.slot)
    reserve(choice)
    if current is not None:
        release_booking(current)
        current.superseded_at = now
    choice.made_by = made_by
    choice.made_at = now
    db.session.add(choice)
    update_eta(parcel, choice, now)
    db.session.flush()
    if confirm:
        notify(
            parcel,
            "delivery_changed",
            now=now,
            dedupe_suffix=f":{choice.id}",
            answering=answering,
        )
    return choice


def book_slot(
    parcel: Parcel, slot_id: int, *, now: datetime | None = None, made_by: str = "recipient"
) -> DeliveryChoice:
    return choose(parcel, ChoiceRequest(C.SLOT, slot_id=slot_id), now=now, made_by=made_by)


def _build(parcel: Parcel, r: ChoiceRequest, now: datetime, window: ChangeWindow) -> DeliveryChoice:
    """The new choice row, validated against the parcel (not yet added or reserved)."""
    zone = parcel.zone
    assert zone is not None  # change_window refuses parcels outside our zones
    today = today_in(parcel, now)
    choice = DeliveryChoice(parcel=parcel, type=r.type)
    if r.type is C.SLOT:
        slot = get_by_id(Slot, r.slot_id)
        if slot is None:
            raise NotFound(
                str(_l("Choose one of the times shown.")), field="slot", code="slot_not_found"
            )
        if slot.zone_id != zone.id:
            raise DomainError(
                str(_l("That time is for another area.")), field="slot", code="slot_elsewhere"
            )
        if now >= cutoff(slot.day, zone):
            raise ChangeTooLate(
                str(
                    _l(
                        "That time can no longer be booked: changes close at %(time)s the day "
                        "before.",
                        time=cutoff_time(zone),
                    )
                ),
                field="slot",
            )
        if slot.closed_at is not None:
            raise SlotClosed(
                str(_l("That time is no longer offered. Please choose another.")), field="slot"
            )
        if why := closed_day_text(zone, slot.day):
            raise SlotClosed(why, field="slot", code="day_closed")
        if window.latest_day and slot.day > window.latest_day:
            raise DomainError(
                str(_l("Choose a day up to %(day)s.", day=format_day(window.latest_day))),
                field="slot",
                code="too_far_ahead",
            )
        if (
            slot.vehicle == "cargo_bike"
            and parcel.weight_grams > current_app.config["CARGO_BIKE_MAX_WEIGHT_GRAMS"]
        ):
            raise DomainError(
                str(_l("This parcel is too heavy for the cargo bike. Choose a van time.")),
                field="slot",
                code="too_heavy",
            )
        choice.slot = slot
        choice.co2e_grams = estimate.for_option(C.SLOT, vehicle=slot.vehicle)
    elif r.type is C.GREEN_DAY:
        green = next_green_day(zone, now, window.latest_day)
        if green is None or (r.day is not None and r.day != green):
            raise DomainError(
                str(_l("That green day can no longer be chosen.")), field="day", code="no_green_day"
            )
        choice.day = green
        choice.co2e_grams = estimate.for_option(C.GREEN_DAY)
    elif r.type in (C.PICKUP_POINT, C.LOCKER):
        point = get_by_id(PickupPoint, r.pickup_point_id)
        if point is None or point.zone_id != zone.id:
            raise NotFound(
                str(_l("Choose one of the pickup points shown.")),
                field="pickup_point",
                code="pickup_point_not_found",
            )
        latest = window.latest_day or today + timedelta(
            days=current_app.config["DELIVERY_DAYS_AHEAD"]
        )
        first, last = pickup_span(today, arrival_day(parcel, today), latest)
        if why := point_closed_text(point, first, last):
            raise PickupPointClosed(why, field="pickup_point")
        choice.type = C.LOCKER if point.is_locker else C.PICKUP_POINT
        if point.is_locker and parcel.weight_grams > current_app.config["LOCKER_MAX_WEIGHT_GRAMS"]:
            raise DomainError(
                str(_l("This parcel is too heavy for a locker. Choose a pickup point.")),
                field="pickup_point",
                code="too_heavy",
            )
        choice.pickup_point = point
        choice.co2e_grams = estimate.pickup(distance_to(parcel.country, parcel.postcode, point))
    elif r.type is C.SAFE_PLACE:
        if not safe_place_allowed(parcel.merchant, parcel_value(parcel)):
            raise DomainError(
                str(_l("The shop doesn't allow leaving this parcel unattended.")),
                field="place",
                code="safe_place_not_allowed",
            )
        if r.place not in SAFE_PLACES:
            raise DomainError(str(_l("Choose where we should leave it.")), field="place")
        note = (r.note or "").strip()
        if r.place == "other" and not note:
            raise DomainError(str(_l("Tell the driver where to leave it.")), field="note")
        if len(note) > 200:
            raise DomainError(str(_l("Keep the note to 200 characters.")), field="note")
        choice.place, choice.note = r.place, note or None
        choice.co2e_grams = estimate.for_option(C.SAFE_PLACE)
    elif r.type is C.NEIGHBOUR:
        name, house = (r.neighbour_name or "").strip(), (r.neighbour_house or "").strip()
        if not name:
            raise DomainError(str(_l("Enter your neighbour's name.")), field="neighbour_name")
        if not house:
            raise DomainError(
                str(_l("Enter your neighbour's house or flat number.")), field="neighbour_house"
            )
        if len(name) > 100:
            raise DomainError(str(_l("Keep the name to 100 characters.")), field="neighbour_name")
        if len(house) > 40:
            raise DomainError(str(_l("Keep the number to 40 characters.")), field="neighbour_house")
        choice.note, choice.neighbour_house = name, house
        choice.co2e_grams = estimate.for_option(C.NEIGHBOUR)
    elif r.type is C.HOLD:
        limit = hold_limit(parcel.merchant, today)
        if r.day is None:
            raise DomainError(str(_l("Enter the date to hold it until.")), field="day")
        if r.day <= today or now >= cutoff(r.day, zone):
            raise DomainError(
                str(
                    _l(
                        "Choose a later date: changes for a day close at %(time)s the day before.",
                        time=cutoff_time(zone),
                    )
                ),
                field="day",
                code="hold_too_soon",
            )
        if r.day > limit:
            raise DomainError(
                str(_l("We can hold it until %(day)s at the latest.", day=format_day(limit))),
                field="day",
                code="hold_too_long",
            )
        # The held parcel is delivered on its last day: never a day nobody delivers.
        if why := closed_day_text(zone, r.day):
            raise DomainError(why, field="day", code="hold_on_closed_day")
        choice.day = r.day
        choice.co2e_grams = estimate.for_option(C.HOLD)
    else:  # pragma: no cover - the enum is closed
        raise DomainError(str(_l("Unknown choice.")), field="type")
    return choice


def _same(a: DeliveryChoice, b: DeliveryChoice) -> bool:
    keys = ("type", "slot_id", "pickup_point_id", "day", "place", "note", "neighbour_house")
    a_slot = a.slot_id if a.slot_id is not None else (a.slot.id if a.slot else None)
    b_slot = b.slot.id if b.slot else None
    b_point = b.pickup_point.id if b.pickup_point else None
    return (
        a.type == b.type
        and a_slot == b_slot
        and a.pickup_point_id == b_point
        and all(getattr(a, k) == getattr(b, k) for k in keys[3:])
    )


def distance_to(country: str, postcode: str, point: PickupPoint) -> int | None:
    centre = postcode_centre(country, postcode)
    if centre is None:
        return None
    return estimate.distance_m(centre[0], centre[1], point.latitude, point.longitude)
